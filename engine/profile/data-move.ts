/**
 * Moving the data folder (the profile: the database, settings, keys, caches, and the model store when
 * it lives there). The database is open while Elmwood runs, so Settings only schedules the move; it
 * runs at the next start, before anything opens the profile, so that a crash at any moment leaves the
 * profile whole in exactly one place.
 *
 * Everything lives in the app-data folder (`base`, see engine/paths.ts), which never moves:
 *
 *   1. profile-move.json "scheduled"  (Settings writes it, atomically)
 *   -- the next start, holding profile-move.lock, with no other process holding the profile --
 *   2. journal "copying": same disk: rename each entry of the profile into a staging folder inside
 *      the destination; another disk: copy every file there, hashing, then read the copy back
 *   3. journal "staged"   from here on the move only goes forward
 *   4. rename the staged entries into the destination
 *   5. profile-location.json -> the destination (atomic rename; removed when moving back to `base`):
 *      the switch
 *   6. journal "switched"; delete what is left of the old profile; delete the journal
 *
 * Started again after a crash: in "copying" the move is undone (renamed entries return, a partial
 * copy is deleted) and tried again; in "staged" or "switched" it is finished. A model store kept
 * elsewhere is not moved: its pointer (model-store.json) is a file of the profile and travels as is.
 * ELMWOOD_HOME overrides all of this: with it set, nothing is scheduled or run.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readlink, rename, rm, rmdir, stat, symlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { formatBytes } from "../../models/catalog.ts";
import { isDiskFull } from "../../models/disk.ts";
import { readJsonFile, writeJsonAtomic } from "../../models/json-file.ts";
import { acquireLock } from "../../models/lock.ts";
import {
  copyHashed,
  hashFile,
  rebaseManifestSources,
  recoverModelStoreMove,
} from "../../models/store-move.ts";
import type { ErrorInfo } from "../api/contract.ts";
import { toErrorInfo } from "../api/validate.ts";
import { ElmwoodError } from "../errors.ts";
import {
  type ElmwoodPaths,
  elmwoodPaths,
  locateProfile,
  PROFILE_POINTER,
  type ProfileLocation,
  readModelStorePointer,
} from "../paths.ts";
import {
  checkDataDestination,
  DATA_MOVE_JOURNAL,
  type DataMoveEnvironment,
  isVanishedSideFile,
  MOVE_LOCK,
  profileEntries,
  STAGING_PREFIX,
  treeOf,
} from "./data-destination.ts";
import { describeHolder, LEASES_FOLDER, otherHolders } from "./leases.ts";

export { checkDataDestination, DATA_MOVE_JOURNAL, type DataMoveEnvironment };

const KNOWN_PHASES = new Set<string>(["scheduled", "copying", "staged", "switched", "failed"]);
/** A move that crashed this many times is given up (the old profile is kept) rather than retried. */
const MAX_ATTEMPTS = 3;

/** Points where a test may stop a move (and kill its process there, as a crash would). */
export type DataMoveStep = "copied-entry" | "staged" | "promoted" | "switched";

export interface DataMoveProgress {
  /** moving: renames on one disk; copying, then checking: another disk; finishing: switch and cleanup. */
  phase: "moving" | "copying" | "checking" | "finishing";
  doneBytes: number;
  totalBytes: number;
}

interface Journal {
  version: 1;
  id: string;
  from: string;
  to: string;
  scheduledAt: string;
  phase: "scheduled" | "copying" | "staged" | "switched" | "failed";
  /** Starts that began the copy: a move that keeps crashing is given up. */
  attempts: number;
  method?: "rename" | "copy";
  staging?: string;
  /** The first folder the move had to create on the way to the destination (a rollback removes it). */
  created?: string | null;
  /** The profile's top-level entries that move. */
  entries?: string[];
  error?: ErrorInfo;
}

/** A scheduled move as Settings shows it. */
export interface ScheduledDataMove {
  state: "scheduled" | "failed";
  from: string;
  to: string;
  scheduledAt: string;
  /** Why a move failed (the data folder stayed where it was). */
  error: ErrorInfo | null;
}

export interface DataMoveOutcome {
  state: "moved" | "failed" | "waiting";
  from: string;
  to: string;
  method?: "rename" | "copy";
  bytes?: number;
  error?: ErrorInfo;
}

export interface ApplyOptions extends DataMoveEnvironment {
  /** The app-data folder and environment; tests pass their own, never the real ones. */
  base?: string;
  env?: NodeJS.ProcessEnv;
  /** Where progress goes, a line at a time (the terminal, the app's log). */
  log?: (line: string) => void;
  /** How far the move is, a few times a second (the desktop app shows it while it starts). */
  onProgress?: (progress: DataMoveProgress) => void;
  /** Awaited at each step: tests stop a child process here and kill it. */
  checkpoint?: (step: DataMoveStep) => Promise<void>;
  /** How long another starting process waits for a move under way to end. */
  lockTimeoutMs?: number;
}

const journalFile = (base: string) => join(base, DATA_MOVE_JOURNAL);

function badInput(message: string, hint: string): ElmwoodError {
  return new ElmwoodError("BAD_INPUT", message, hint);
}

async function isFolder(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** BUSY while another Elmwood process has the profile open: it would keep writing to the old place. */
function assertNobodyElse(home: string, doing: string): void {
  const others = otherHolders(home);
  if (others.length === 0) return;
  throw new ElmwoodError(
    "BUSY",
    `Another Elmwood process uses the data folder: ${others.map(describeHolder).join(", ")}.`,
    `Quit it first, then ${doing}.`,
  );
}

function assertMovable(location: ProfileLocation): void {
  if (location.fromEnvironment) {
    throw badInput(
      "ELMWOOD_HOME chooses the data folder of this Elmwood.",
      "Move the folder yourself and change ELMWOOD_HOME, or start Elmwood without it to move the data folder here.",
    );
  }
}

/** The move Settings scheduled (or one that failed at a start), or null. */
export async function readDataMove(base: string): Promise<ScheduledDataMove | null> {
  const journal = await readJsonFile<Journal>(journalFile(base)).catch(() => undefined);
  if (journal?.version !== 1 || typeof journal.to !== "string") return null;
  return {
    state: journal.phase === "failed" ? "failed" : "scheduled",
    from: journal.from,
    to: journal.to,
    scheduledAt: journal.scheduledAt,
    error: journal.phase === "failed" ? (journal.error ?? null) : null,
  };
}

/** Checks `destination` and records the move for the next start. */
export async function scheduleDataMove(
  location: ProfileLocation,
  paths: ElmwoodPaths,
  destination: string,
  environment: DataMoveEnvironment = {},
): Promise<ScheduledDataMove> {
  assertMovable(location);
  const current = await readJsonFile<Journal>(journalFile(location.base)).catch(() => undefined);
  if (current && current.phase !== "scheduled" && current.phase !== "failed") {
    throw new ElmwoodError(
      "BUSY",
      "A move of the data folder is under way.",
      "Start Elmwood again to let it finish.",
    );
  }
  assertNobodyElse(paths.home, "move the data folder");
  const checked = await checkDataDestination(location, paths, destination, environment);
  const journal: Journal = {
    version: 1,
    id: randomBytes(6).toString("hex"),
    from: resolve(paths.home),
    to: checked.path,
    scheduledAt: new Date().toISOString(),
    phase: "scheduled",
    attempts: 0,
  };
  await mkdir(location.base, { recursive: true });
  await writeJsonAtomic(journalFile(location.base), journal);
  return {
    state: "scheduled",
    from: journal.from,
    to: journal.to,
    scheduledAt: journal.scheduledAt,
    error: null,
  };
}

/** Forgets a scheduled (or failed) move; false when there was none. A move under way cannot be. */
export async function cancelDataMove(base: string): Promise<boolean> {
  const journal = await readJsonFile<Journal>(journalFile(base)).catch(() => undefined);
  if (!journal) return false;
  if (journal.phase !== "scheduled" && journal.phase !== "failed") {
    throw new ElmwoodError(
      "BUSY",
      "The data folder is being moved.",
      "Start Elmwood again to let the move finish.",
    );
  }
  await rm(journalFile(base), { force: true });
  return true;
}

/** The outcome of the move this process ran at its start, for Settings to report. */
let lastOutcome: DataMoveOutcome | null = null;
export function startupDataMove(): DataMoveOutcome | null {
  return lastOutcome;
}

/**
 * Runs a scheduled move, or finishes or undoes one a crash interrupted. Call before anything opens
 * the profile (the app, `elmwood serve` and every CLI command do). Null when there was nothing to do.
 * A move that cannot run now (another process uses the profile) waits for the next start; one that
 * fails is undone and recorded as failed. Throws only when the profile is in no state to be used.
 */
export async function applyPendingDataMove(options: ApplyOptions = {}): Promise<DataMoveOutcome | null> {
  const env = options.env ?? process.env;
  if (env.ELMWOOD_HOME) return null;
  const base = options.base ?? locateProfile({ env }).base;
  const first = await readJsonFile<Journal>(journalFile(base)).catch(() => undefined);
  if (!first || first.phase === "failed") return null;
  const log = options.log ?? (() => undefined);
  const lock = await acquireLock(join(base, MOVE_LOCK), {
    purpose: "moving the data folder",
    timeoutMs: options.lockTimeoutMs,
    onWait: () => log("Elmwood: waiting for another Elmwood process to finish moving the data folder..."),
  });
  try {
    const outcome = await applyLocked(base, options, log);
    lastOutcome = outcome;
    return outcome;
  } finally {
    await lock.release();
  }
}

async function applyLocked(base: string, options: ApplyOptions, log: (line: string) => void) {
  const journal = await readJsonFile<Journal>(journalFile(base));
  if (!journal || journal.phase === "failed") return null;
  if (
    journal.version !== 1 ||
    typeof journal.from !== "string" ||
    typeof journal.to !== "string" ||
    !KNOWN_PHASES.has(journal.phase) ||
    (journal.phase !== "scheduled" &&
      (typeof journal.staging !== "string" || !Array.isArray(journal.entries)))
  ) {
    throw new ElmwoodError(
      "DISK",
      `Elmwood cannot read ${journalFile(base)}, the record of a move of the data folder.`,
      "Check where your data folder is, then delete that file and start Elmwood again.",
    );
  }
  if (journal.phase === "staged" || journal.phase === "switched") {
    if (!(await isFolder(journal.to))) {
      // Past the staging the move only goes forward, and the old copy must not be used meanwhile.
      throw new ElmwoodError(
        "DISK",
        `A move of the data folder to ${journal.to} was interrupted, and that folder cannot be reached now.`,
        "Connect the disk it is on and start Elmwood again; the move will be finished then.",
      );
    }
  }
  if (journal.phase === "copying") {
    log(`Elmwood: undoing an interrupted move of the data folder to ${journal.to}...`);
    await rollBack(journal);
    journal.phase = "scheduled";
    await writeJsonAtomic(journalFile(base), journal);
  }
  if (journal.phase === "scheduled") {
    const started = await start(base, journal, options, log);
    if (started) return started;
  }
  if (journal.phase === "staged") {
    options.onProgress?.({ phase: "finishing", doneBytes: 0, totalBytes: 0 });
    await promote(journal);
    if (resolve(readModelStorePointer(journal.to)) === resolve(journal.to)) {
      // The models moved with the profile: each still knows its downloaded checkpoint, in the new place.
      await rebaseManifestSources(
        join(journal.to, "models"),
        join(journal.from, "downloads"),
        join(journal.to, "downloads"),
      );
    }
    await options.checkpoint?.("promoted");
    await switchPointer(base, journal.to);
    journal.phase = "switched";
    await writeJsonAtomic(journalFile(base), journal);
    await options.checkpoint?.("switched");
  }
  log(`Elmwood: the data folder is in ${journal.to} now; deleting the old copy...`);
  await cleanUp(base, journal);
  log(`Elmwood: the data folder was moved to ${journal.to}.`);
  return { state: "moved" as const, from: journal.from, to: journal.to, method: journal.method };
}

/** Steps 2-3; returns an outcome when the move did not reach "staged" (it waits, or it failed). */
async function start(
  base: string,
  journal: Journal,
  options: ApplyOptions,
  log: (line: string) => void,
): Promise<DataMoveOutcome | null> {
  const { from, to } = journal;
  const waiting = otherHolders(from);
  if (waiting.length > 0) {
    const error = new ElmwoodError(
      "BUSY",
      `The data folder was not moved: another Elmwood process uses it (${waiting.map(describeHolder).join(", ")}).`,
      "Quit every Elmwood, then start it again to move the data folder.",
    );
    log(`Elmwood: ${error.toLine()}`);
    return { state: "waiting", from, to, error: toErrorInfo(error) };
  }
  const fail = async (error: unknown): Promise<DataMoveOutcome> => {
    const info = toErrorInfo(
      isDiskFull(error)
        ? new ElmwoodError(
            "DISK",
            `The disk holding ${to} filled up while the data folder was copied; nothing was moved.`,
            "Free some space there, or choose another folder.",
          )
        : error,
    );
    await rollBack(journal).catch(() => undefined);
    const failed: Journal = { ...journal, phase: "failed", error: info };
    await writeJsonAtomic(journalFile(base), failed);
    log(`Elmwood: the data folder was not moved: ${info.message} ${info.hint ?? ""}`.trim());
    return { state: "failed", from, to, error: info };
  };
  if (journal.attempts >= MAX_ATTEMPTS) {
    return fail(
      new ElmwoodError(
        "DISK",
        `Moving the data folder to ${to} stopped ${journal.attempts} times before it could finish.`,
        "The data folder stayed where it was. Check that disk, or choose another folder in Settings.",
      ),
    );
  }
  const current = resolve(locateProfile({ base, env: {} }).home);
  if (current !== resolve(from)) {
    return fail(
      new ElmwoodError(
        "DISK",
        `The data folder moved from ${from} to ${current} after this move was scheduled.`,
        "Choose the new data folder again in Settings.",
      ),
    );
  }
  try {
    // A move of the models folder that a crash interrupted is finished first: it is part of the profile.
    await recoverModelStoreMove(elmwoodPaths(from));
    const checked = await checkDataDestination({ base }, elmwoodPaths(from), to, options);
    journal.method = checked.sameDisk === true ? "rename" : "copy";
    journal.entries = await profileEntries(from);
    journal.attempts += 1;
    journal.created = (await mkdir(to, { recursive: true })) ?? null;
    journal.staging = join(to, `${STAGING_PREFIX}${journal.id}`);
    journal.phase = "copying";
    // The journal first: nothing is staged that a later start would not know about.
    await writeJsonAtomic(journalFile(base), journal);
    await mkdir(journal.staging);
    log(
      journal.method === "rename"
        ? `Elmwood: moving the data folder to ${to} (the same disk)...`
        : `Elmwood: copying the data folder (${formatBytes(checked.bytes)}) to ${to}...`,
    );
    await stage(base, journal, options, log);
  } catch (error) {
    return fail(error);
  }
  journal.phase = "staged";
  await writeJsonAtomic(journalFile(base), journal);
  await options.checkpoint?.("staged");
  return null;
}

async function stage(base: string, journal: Journal, options: ApplyOptions, log: (line: string) => void) {
  const { from } = journal;
  const staging = journal.staging as string;
  const entries = journal.entries ?? [];
  if (journal.method === "rename") {
    options.onProgress?.({ phase: "moving", doneBytes: 0, totalBytes: 0 });
    for (const name of entries) {
      try {
        await rename(join(from, name), join(staging, name));
      } catch (error) {
        if (isVanishedSideFile(error, name)) continue;
        // A mount point inside the same device: the kernel says EXDEV, so copy instead.
        if ((error as { code?: string }).code !== "EXDEV") throw error;
        await returnRenamed(journal);
        journal.method = "copy";
        await writeJsonAtomic(journalFile(base), journal);
        return stage(base, journal, options, log);
      }
      await options.checkpoint?.("copied-entry");
    }
    return;
  }
  const tree = await treeOf(from, entries);
  const total = tree.reduce((sum, e) => sum + e.bytes, 0);
  const hashes = new Map<string, string>();
  let done = 0;
  let lastLog = Date.now();
  let lastReport = 0;
  const report = (phase: DataMoveProgress["phase"], doneBytes: number, force = false) => {
    if (!force && Date.now() - lastReport < 250) return;
    lastReport = Date.now();
    options.onProgress?.({ phase, doneBytes, totalBytes: total });
  };
  report("copying", 0, true);
  for (const entry of tree) {
    const source = join(from, entry.path);
    const target = join(staging, entry.path);
    if (entry.kind === "dir") await mkdir(target, { recursive: true });
    else if (entry.kind === "link") await symlink(await readlink(source), target);
    else {
      let hash: string;
      try {
        const before = done;
        hash = await copyHashed(source, target, undefined, (bytes) => report("copying", before + bytes));
      } catch (error) {
        if (isVanishedSideFile(error, entry.path)) {
          await rm(target, { force: true });
          continue;
        }
        throw error;
      }
      hashes.set(entry.path, hash);
      done += entry.bytes;
      if (Date.now() - lastLog > 2000) {
        lastLog = Date.now();
        log(`Elmwood: copied ${formatBytes(done)} of ${formatBytes(total)}...`);
      }
      if (!entry.path.includes("/") && !entry.path.includes("\\")) await options.checkpoint?.("copied-entry");
    }
  }
  log("Elmwood: checking the copy...");
  done = 0;
  report("checking", 0, true);
  for (const entry of tree) {
    if (entry.kind !== "file" || !hashes.has(entry.path)) continue;
    report("checking", done);
    done += entry.bytes;
    const target = join(staging, entry.path);
    if (
      (await stat(target)).size !== entry.bytes ||
      (await hashFile(target, undefined)) !== hashes.get(entry.path)
    ) {
      throw new ElmwoodError(
        "DISK",
        `The copy of ${entry.path} in ${journal.to} does not match the original; nothing was moved.`,
        "The disk may be failing or full. Check it, or choose another folder.",
      );
    }
  }
}

/** Renamed entries go back where they were (a rename move that is undone). */
async function returnRenamed(journal: Journal): Promise<void> {
  if (!journal.staging) return;
  for (const name of journal.entries ?? []) {
    const staged = join(journal.staging, name);
    if ((await exists(staged)) && !(await exists(join(journal.from, name)))) {
      await rename(staged, join(journal.from, name));
    }
  }
}

/** Undoes a move that had not reached "staged": the old profile whole, nothing left at the destination. */
async function rollBack(journal: Journal): Promise<void> {
  if (journal.method === "rename") await returnRenamed(journal);
  if (journal.staging) await rm(journal.staging, { recursive: true, force: true });
  await removeCreated(journal.to, journal.created ?? null);
}

/** The folders a move made on the way to `to`, from `to` up to `created`, each only if still empty. */
async function removeCreated(to: string, created: string | null): Promise<void> {
  if (!created) return;
  for (let dir = resolve(to); ; dir = dirname(dir)) {
    const removed = await rmdir(dir).then(
      () => true,
      () => false,
    );
    if (!removed || dir === resolve(created) || dirname(dir) === dir) return;
  }
}

/** Step 4, safe to repeat: the staged entries take their places in the destination. */
async function promote(journal: Journal): Promise<void> {
  const staging = journal.staging as string;
  for (const name of journal.entries ?? []) {
    const staged = join(staging, name);
    if (!(await exists(staged))) continue;
    if (await exists(join(journal.to, name))) {
      // Not ours (ours would have left the staging folder): never delete the staged copy over it.
      throw new ElmwoodError(
        "DISK",
        `The move of the data folder cannot finish: ${join(journal.to, name)} appeared meanwhile.`,
        `Move that out of ${journal.to} and start Elmwood again; the data is in ${staging}.`,
      );
    }
    await rename(staged, join(journal.to, name));
  }
  await rm(staging, { recursive: true, force: true });
}

/** Step 5: the atomic switch. Back in the app-data folder, no pointer is needed. */
async function switchPointer(base: string, to: string): Promise<void> {
  if (resolve(to) === resolve(base)) await rm(join(base, PROFILE_POINTER), { force: true });
  else await writeJsonAtomic(join(base, PROFILE_POINTER), { home: to, changedAt: new Date().toISOString() });
}

/** Step 6, safe to repeat: what is left of the old profile goes, then the journal. */
async function cleanUp(base: string, journal: Journal): Promise<void> {
  for (const name of journal.entries ?? []) {
    await rm(join(journal.from, name), { recursive: true, force: true });
  }
  await rm(join(journal.from, LEASES_FOLDER), { recursive: true, force: true });
  // A folder the person chose for an earlier move goes too, if nothing else is in it.
  if (resolve(journal.from) !== resolve(base)) await rmdir(journal.from).catch(() => undefined);
  await rm(journalFile(base), { force: true });
}
