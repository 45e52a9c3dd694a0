/**
 * Moving the model store (converted models and downloaded checkpoints) to another folder, so that a
 * crash at any moment leaves it whole in exactly one place.
 *
 * The store is `<root>/models` and `<root>/downloads`; the profile's model-store.json names the root.
 * A move stages everything in a hidden folder inside the destination, then switches:
 *
 *   1. journal "staging"  (profile/model-store-move.json, written atomically)
 *   2. same disk: rename models/ and downloads/ into the staging folder; another disk: copy every file
 *      into it, hashing what is read, then read the copy back and compare the hashes
 *   3. journal "staged"   from here on the move only goes forward
 *   4. rename the staged folders to <destination>/models and /downloads
 *   5. model-store.json -> the destination (atomic rename: the switch)
 *   6. rebase each model's manifest source path into the new downloads/, delete the old copies
 *   7. delete the journal
 *
 * Started again after a crash, recoverModelStoreMove() reads the journal: in "staging" it rolls back
 * (renames return, a partial copy is deleted; the old store was never touched or is put back), in
 * "staged" it finishes steps 4-7, each of which can be repeated safely.
 *
 * "Use the store there" instead only re-points model-store.json at a folder that already holds one;
 * the old store is left where it was.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, open, readdir, readlink, rename, rm, rmdir, stat, symlink } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { cancelled, ElmwoodError } from "../engine/errors.ts";
import { MANIFEST_FILE } from "../engine/openelm/manifest.ts";
import { type ElmwoodPaths, MODEL_STORE_POINTER, pointModelStore } from "../engine/paths.ts";
import { formatBytes } from "./catalog.ts";
import { type FreeSpaceProbe, freeSpaceOnDisk, isDiskFull } from "./disk.ts";
import { readJsonFile, writeJsonAtomic } from "./json-file.ts";
import { isProcessAlive } from "./lock.ts";
import { isInside } from "./store.ts";

export const MOVE_JOURNAL = "model-store-move.json";
const STAGING_PREFIX = ".elmwood-moving-";
/** What a store folder holds; everything else in its folder (the profile's database...) stays. */
const PARTS = ["models", "downloads"] as const;
/** Locks are per process and per moment: never carried to the new place. */
const SKIPPED = new Set([join("models", ".locks")]);
/** Files the OS drops into folders; a folder holding only these counts as empty. */
export const OS_LITTER = new Set([".DS_Store", "Thumbs.db", "desktop.ini"]);

export type MovePhase = "checking" | "copying" | "verifying" | "switching" | "cleaning";

export interface MoveProgress {
  phase: MovePhase;
  doneBytes: number;
  totalBytes: number;
  /** The file being copied or verified, relative to the store folder. */
  file?: string;
}

/** Points where a test may hold a move (and kill its process there, as a crash would). */
export type MoveStep = "renamed-part" | "copied-file" | "staged" | "promoted" | "switched";

/** What a move learns about the disks; tests inject it to play another disk or a full one. */
export interface StoreEnvironment {
  freeSpace?: FreeSpaceProbe;
  /** The device a path is on (stat's dev): the same device means a move is a rename. */
  deviceOf?: (path: string) => Promise<number>;
}

export interface MoveOptions extends StoreEnvironment {
  /** "move" the store there; "use-existing": switch to the store already in that folder. */
  mode: "move" | "use-existing";
  signal?: AbortSignal;
  onProgress?: (progress: MoveProgress) => void;
  /** Awaited at each step: tests stop a child process here and kill it. */
  checkpoint?: (step: MoveStep) => Promise<void>;
  progressIntervalMs?: number;
}

export interface MoveResult {
  root: string;
  /** rename: same disk; copy: another disk; pointer: switched to a store already there. */
  method: "rename" | "copy" | "pointer";
  bytes: number;
  /** use-existing: the old store, left where it was for the person to delete or keep. */
  leftBehind: string | null;
}

export type DestinationState =
  | "missing"
  | "empty"
  | "profile"
  | "store"
  | "other"
  | "not-a-folder"
  | "current";

export interface DestinationReport {
  path: string;
  state: DestinationState;
  /** Whether it is on the disk the store is on now (then a move is a rename); null when unknown. */
  sameDisk: boolean | null;
  /** What a move would copy (0 on the same disk). */
  neededBytes: number;
  /** Free space where the store would go; null when it cannot be measured. */
  freeBytes: number | null;
  /** A sentence for the person: what choosing this folder would do, or why it cannot be chosen. */
  summary: string;
}

interface Journal {
  version: 1;
  id: string;
  /** The process doing the move: another one must not undo it while it lives. */
  pid: number;
  host: string;
  from: string;
  to: string;
  staging: string;
  method: "rename" | "copy";
  phase: "staging" | "staged";
  /** The first folder the move had to create on the way to the destination (a rollback removes it). */
  created: string | null;
  startedAt: string;
}

export interface Recovery {
  outcome: "rolled-back" | "finished";
  from: string;
  to: string;
}

const journalFile = (paths: ElmwoodPaths) => join(paths.home, MOVE_JOURNAL);

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** The nearest folder at or above `path` that exists. */
export async function existingAncestor(path: string): Promise<string> {
  let dir = resolve(path);
  while (!(await isDirectory(dir))) {
    const up = dirname(dir);
    if (up === dir) return dir;
    dir = up;
  }
  return dir;
}

/** A file, folder or link of a tree being moved, relative to the tree's base. */
export interface TreeEntry {
  path: string;
  bytes: number;
  kind: "file" | "dir" | "link";
}

/**
 * Files below `dir`, relative to `base`, with their sizes; folders listed too so empty ones survive.
 * The models' lock files are left out: they belong to processes that are gone by the time a move runs.
 */
export async function walkTree(base: string, dir: string, out: TreeEntry[]): Promise<TreeEntry[]> {
  for (const entry of await readdir(join(base, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (SKIPPED.has(path)) continue;
    if (entry.isDirectory()) {
      out.push({ path, bytes: 0, kind: "dir" });
      await walkTree(base, path, out);
    } else if (entry.isSymbolicLink()) {
      out.push({ path, bytes: 0, kind: "link" });
    } else if (entry.isFile()) {
      out.push({ path, bytes: (await stat(join(base, path))).size, kind: "file" });
    }
  }
  return out;
}

async function storeEntries(root: string) {
  const entries: TreeEntry[] = [];
  for (const part of PARTS) {
    if (!(await isDirectory(join(root, part)))) continue;
    entries.push({ path: part, bytes: 0, kind: "dir" });
    await walkTree(root, part, entries);
  }
  return entries;
}

export async function visibleEntries(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => !OS_LITTER.has(name));
}

/** Whether a folder directly holds converted models (a person chose a models/ folder itself). */
async function holdsModels(dir: string): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory() && (await exists(join(dir, entry.name, MANIFEST_FILE)))) return true;
  }
  return false;
}

/** What choosing `destination` as the models folder would do. */
export async function inspectDestination(
  paths: ElmwoodPaths,
  destination: string,
  environment: StoreEnvironment = {},
): Promise<DestinationReport> {
  const probe = environment.freeSpace ?? freeSpaceOnDisk;
  const deviceOf = environment.deviceOf ?? (async (path: string) => (await stat(path)).dev);
  const path = resolve(destination);
  const from = resolve(paths.modelStore);
  const report = async (
    state: DestinationState,
    summary: string,
    moving = false,
  ): Promise<DestinationReport> => {
    const anchor = await existingAncestor(path);
    const [here, there] = await Promise.all([deviceOf(await existingAncestor(from)), deviceOf(anchor)]).catch(
      () => [],
    );
    const sameDisk = here !== undefined && there !== undefined ? here === there : null;
    const total = moving ? (await storeEntries(from)).reduce((sum, e) => sum + e.bytes, 0) : 0;
    const freeBytes = await probe(anchor).catch(() => null);
    const neededBytes = sameDisk === true ? 0 : total;
    let text = summary;
    if (moving) {
      text +=
        sameDisk === true
          ? " It is on the same disk, so the models are moved in place."
          : ` ${formatBytes(total)} will be copied to the other disk${freeBytes === null ? "" : ` (${formatBytes(freeBytes)} free there)`}, checked, and then deleted here.`;
    }
    return { path, state, sameDisk, neededBytes, freeBytes, summary: text };
  };

  if (path === from) return report("current", "This is the models folder already.");
  if (PARTS.some((part) => path === join(from, part) || isInside(join(from, part), path))) {
    return report("other", "That folder is inside the current models folder; choose one outside it.");
  }
  if (path === resolve(paths.home)) {
    // The profile folder holds the database too: the store goes back into its models/ and downloads/.
    return (await isDirectory(join(path, "models")))
      ? report("store", "The profile folder already holds a model store: Elmwood can use the models there.")
      : report(
          "profile",
          "The models will be moved back into the profile folder, beside the database.",
          true,
        );
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    return report("missing", "The folder will be created, and the models moved into it.", true);
  }
  if (!info.isDirectory()) return report("not-a-folder", "That is a file, not a folder.");
  if (await isDirectory(join(path, "models"))) {
    return report(
      "store",
      "That folder already holds an Elmwood model store: Elmwood can use the models there.",
    );
  }
  const entries = await visibleEntries(path).catch(() => null);
  if (entries === null) return report("other", "Elmwood cannot read that folder.");
  if (entries.length === 0) return report("empty", "The models will be moved into this empty folder.", true);
  if (await holdsModels(path)) {
    return report(
      "other",
      `That looks like a models folder itself; choose the folder above it (${dirname(path)}).`,
    );
  }
  return report("other", "That folder is not empty. Choose an empty folder, or a new one.");
}

/** BAD_INPUT, with the way forward, when a folder cannot take the move (or has no store to use). */
export function assertFitsMode(report: DestinationReport, mode: MoveOptions["mode"]): void {
  if (mode === "use-existing") {
    if (report.state === "store") return;
    throw problem(
      "BAD_INPUT",
      `${report.path} does not hold an Elmwood model store (a models folder).`,
      "Choose the folder that holds one, or move your models there instead.",
    );
  }
  if (report.state === "missing" || report.state === "empty" || report.state === "profile") return;
  throw problem(
    "BAD_INPUT",
    report.state === "store" ? `${report.path} already holds an Elmwood model store.` : report.summary,
    report.state === "store"
      ? "Choose to use the models there, or choose an empty folder to move yours into."
      : "Choose an empty folder, or a new one.",
  );
}

function problem(code: "BAD_INPUT" | "DISK" | "BUSY", message: string, hint: string): ElmwoodError {
  return new ElmwoodError(code, message, hint);
}

/** Refuses while another Elmwood process (a CLI pull, say) holds a lock in the store. */
async function assertNoLiveLocks(paths: ElmwoodPaths): Promise<void> {
  const dir = join(paths.models, ".locks");
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const lock = await readJsonFile<{ pid?: number; host?: string; purpose?: string }>(join(dir, name)).catch(
      () => undefined,
    );
    if (lock?.pid && lock.host === hostname() && lock.pid !== process.pid && isProcessAlive(lock.pid)) {
      throw problem(
        "BUSY",
        `Another Elmwood process (${lock.pid}) is using the models folder${lock.purpose ? `: ${lock.purpose}` : ""}.`,
        "Let it finish (or stop it), then move the models folder.",
      );
    }
  }
}

/** By trying: permission bits do not tell (root passes them, a read-only disk or /proc does not). */
export async function assertWritable(dir: string): Promise<void> {
  const probe = join(dir, `.elmwood-write-test-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(probe);
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    throw problem(
      "BAD_INPUT",
      `Elmwood cannot write in ${dir}${code ? ` (${code})` : ""}.`,
      "Choose a folder you can write to.",
    );
  }
  await rmdir(probe).catch(() => undefined);
}

/** Moves the store to `destination`, or switches to the store there; see the file's comment. */
export async function moveModelStore(
  paths: ElmwoodPaths,
  destination: string,
  options: MoveOptions,
): Promise<MoveResult> {
  const to = resolve(destination);
  const from = resolve(paths.modelStore);
  if (await exists(journalFile(paths))) {
    throw problem(
      "BUSY",
      "A move of the models folder is already under way.",
      "Wait for it to finish; if Elmwood stopped during one, start it again to finish or undo it.",
    );
  }
  const report = await inspectDestination(paths, to, options);
  assertFitsMode(report, options.mode);
  if (options.mode === "use-existing") {
    await switchPointer(paths, to);
    return { root: to, method: "pointer", bytes: 0, leftBehind: from };
  }
  await assertNoLiveLocks(paths);
  await assertWritable(await existingAncestor(to));
  const method = report.sameDisk === true ? "rename" : "copy";
  if (method === "copy" && report.freeBytes !== null && report.freeBytes < report.neededBytes + 64_000_000) {
    throw problem(
      "DISK",
      `Not enough space in ${to}: the models need ${formatBytes(report.neededBytes)} and ${formatBytes(report.freeBytes)} is free there.`,
      "Free some space on that disk, choose another disk, or remove models you no longer use first.",
    );
  }

  const id = `${process.pid}-${randomBytes(4).toString("hex")}`;
  let created: string | null = null;
  const journal: Journal = {
    version: 1,
    id,
    pid: process.pid,
    host: hostname(),
    from,
    to,
    staging: join(to, `${STAGING_PREFIX}${id}`),
    method,
    phase: "staging",
    created: null,
    startedAt: new Date().toISOString(),
  };
  try {
    created = (await mkdir(to, { recursive: true })) ?? null;
    journal.created = created;
    await mkdir(journal.staging);
  } catch (error) {
    await removeCreated(to, created);
    throw problem(
      "BAD_INPUT",
      `Elmwood cannot write in ${to} (${(error as { code?: string }).code ?? error}).`,
      "Choose a folder you can write to.",
    );
  }
  try {
    await writeJsonAtomic(journalFile(paths), journal);
  } catch (error) {
    // No journal, no move: nothing may be staged that a later start would not know about.
    await rm(journal.staging, { recursive: true, force: true });
    await removeCreated(to, created);
    throw error;
  }

  let bytes = 0;
  try {
    bytes = await stage(journal, journalFile(paths), options);
  } catch (error) {
    await rollBack(journal, paths);
    if (isDiskFull(error)) {
      throw problem(
        "DISK",
        `The disk holding ${to} filled up while the models were copied; nothing was moved.`,
        "Free some space there, or choose another disk.",
      );
    }
    throw error;
  }
  // From here the move only goes forward: a crash is finished at the next start.
  journal.phase = "staged";
  await writeJsonAtomic(journalFile(paths), journal);
  await options.checkpoint?.("staged");
  options.onProgress?.({ phase: "switching", doneBytes: bytes, totalBytes: bytes });
  await finish(journal, paths, options);
  return { root: to, method: journal.method, bytes, leftBehind: null };
}

/** Step 2: the store's folders, in the staging folder; returns the bytes staged. */
async function stage(journal: Journal, file: string, options: MoveOptions): Promise<number> {
  const { from, staging } = journal;
  const entries = await storeEntries(from);
  const total = entries.reduce((sum, e) => sum + e.bytes, 0);
  if (options.signal?.aborted) throw cancelled("Moving the models folder");

  if (journal.method === "rename") {
    for (const part of PARTS) {
      if (!(await isDirectory(join(from, part)))) continue;
      try {
        await rename(join(from, part), join(staging, part));
      } catch (error) {
        // A mount point or a bind mount on the same device: the kernel says EXDEV, so copy instead.
        if ((error as { code?: string }).code !== "EXDEV") throw error;
        await returnRenamed(journal);
        journal.method = "copy";
        await writeJsonAtomic(file, journal);
        return stage(journal, file, options);
      }
      await options.checkpoint?.("renamed-part");
    }
    return total;
  }

  // Another disk: copy, then read the copy back.
  const emit = throttled(options);
  let done = 0;
  const hashes = new Map<string, string>();
  for (const entry of entries) {
    if (options.signal?.aborted) throw cancelled("Moving the models folder");
    const source = join(from, entry.path);
    const target = join(staging, entry.path);
    if (entry.kind === "dir") {
      await mkdir(target, { recursive: true });
    } else if (entry.kind === "link") {
      await symlink(await readlink(source), target);
    } else {
      emit({ phase: "copying", doneBytes: done, totalBytes: total, file: entry.path }, true);
      const base = done;
      hashes.set(
        entry.path,
        await copyHashed(source, target, options.signal, (n) =>
          emit({ phase: "copying", doneBytes: base + n, totalBytes: total, file: entry.path }),
        ),
      );
      done += entry.bytes;
      await options.checkpoint?.("copied-file");
    }
  }
  done = 0;
  for (const entry of entries) {
    if (entry.kind !== "file") continue;
    if (options.signal?.aborted) throw cancelled("Moving the models folder");
    emit({ phase: "verifying", doneBytes: done, totalBytes: total, file: entry.path }, true);
    const target = join(journal.staging, entry.path);
    const size = (await stat(target)).size;
    const hash = await hashFile(target, options.signal);
    if (size !== entry.bytes || hash !== hashes.get(entry.path)) {
      throw new ElmwoodError(
        "DISK",
        `The copy of ${entry.path} in ${journal.to} does not match the original; nothing was moved.`,
        "The disk may be failing or full. Check it, or choose another folder.",
      );
    }
    done += entry.bytes;
  }
  emit({ phase: "verifying", doneBytes: total, totalBytes: total }, true);
  return total;
}

function throttled(options: MoveOptions) {
  const interval = options.progressIntervalMs ?? 100;
  let last = 0;
  return (progress: MoveProgress, force = false) => {
    const now = Date.now();
    if (!force && now - last < interval) return;
    last = now;
    options.onProgress?.(progress);
  };
}

export async function copyHashed(
  source: string,
  target: string,
  signal: AbortSignal | undefined,
  onBytes: (bytes: number) => void,
): Promise<string> {
  const hash = createHash("sha256");
  let copied = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      copied += chunk.length;
      onBytes(copied);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(source), tap, createWriteStream(target, { flags: "wx" }), { signal });
  } catch (error) {
    if (signal?.aborted) throw cancelled("Moving the models folder");
    throw error;
  }
  // On the disk, not in a cache, before the journal says the copy is whole.
  const handle = await open(target, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

export async function hashFile(path: string, signal: AbortSignal | undefined): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
  } catch (error) {
    if (signal?.aborted) throw cancelled("Moving the models folder");
    throw error;
  }
  return hash.digest("hex");
}

/** Renamed parts go back where they were (a rename move that is undone). */
async function returnRenamed(journal: Journal): Promise<void> {
  for (const part of PARTS) {
    const staged = join(journal.staging, part);
    if ((await isDirectory(staged)) && !(await exists(join(journal.from, part)))) {
      await rename(staged, join(journal.from, part));
    }
  }
}

/** Undoes a move that had not reached "staged": the old store whole where it was, nothing left there. */
async function rollBack(journal: Journal, paths: ElmwoodPaths): Promise<void> {
  if (journal.method === "rename") await returnRenamed(journal);
  await rm(journal.staging, { recursive: true, force: true });
  await removeCreated(journal.to, journal.created);
  await rm(journalFile(paths), { force: true });
}

/** The folders a move made on the way to `to`, from `to` up to `created`, each only if still empty. */
async function removeCreated(to: string, created: string | null): Promise<void> {
  if (!created) return;
  for (let dir = resolve(to); ; dir = dirname(dir)) {
    if (
      !(await rmdir(dir).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (dir === resolve(created) || dirname(dir) === dir) return;
  }
}

/** Steps 4-7, each safe to repeat: finishes a staged move, now or after a crash. */
async function finish(
  journal: Journal,
  paths: ElmwoodPaths,
  options: Pick<MoveOptions, "checkpoint" | "onProgress">,
) {
  for (const part of PARTS) {
    const staged = join(journal.staging, part);
    if (!(await isDirectory(staged))) continue;
    if (await exists(join(journal.to, part))) {
      // Not ours (ours would have left the staging folder): never delete the staged copy over it.
      throw new ElmwoodError(
        "DISK",
        `The move of the models folder cannot finish: ${join(journal.to, part)} appeared meanwhile.`,
        `Move that folder out of ${journal.to} and start Elmwood again; the models are in ${staged}.`,
      );
    }
    await rename(staged, join(journal.to, part));
  }
  await mkdir(join(journal.to, "models"), { recursive: true });
  await rm(journal.staging, { recursive: true, force: true });
  await options.checkpoint?.("promoted");

  await switchPointer(paths, journal.to);
  await options.checkpoint?.("switched");

  options.onProgress?.({ phase: "cleaning", doneBytes: 0, totalBytes: 0 });
  await rebaseManifestSources(
    join(journal.to, "models"),
    join(journal.from, "downloads"),
    join(journal.to, "downloads"),
  );
  if (journal.method === "copy") {
    for (const part of PARTS) await rm(join(journal.from, part), { recursive: true, force: true });
  }
  await rm(journalFile(paths), { force: true });
}

/** Step 5: the atomic switch, and the running process follows it. */
async function switchPointer(paths: ElmwoodPaths, root: string): Promise<void> {
  await mkdir(paths.home, { recursive: true });
  await writeJsonAtomic(join(paths.home, MODEL_STORE_POINTER), { root, changedAt: new Date().toISOString() });
  pointModelStore(paths, root);
}

/**
 * A model's manifest records the checkpoint it came from by absolute path; one inside the old
 * downloads/ is rewritten into the new one, so the model still knows its checkpoint (to offer
 * "Free space") after the move. Only that field changes; a manifest already rebased is left alone.
 */
export async function rebaseManifestSources(
  modelsDir: string,
  fromDownloads: string,
  toDownloads: string,
): Promise<void> {
  for (const entry of await readdir(modelsDir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const file = join(modelsDir, entry.name, MANIFEST_FILE);
    const manifest = await readJsonFile<{ source?: { path?: string } }>(file).catch(() => undefined);
    const path = manifest?.source?.path;
    if (!manifest?.source || !path || !(isInside(fromDownloads, path) || resolve(path) === fromDownloads))
      continue;
    manifest.source.path = join(toDownloads, relative(fromDownloads, path));
    await writeJsonAtomic(file, manifest);
  }
}

/**
 * Run before the store is used: finishes or undoes a move that a crash interrupted. Null when no move
 * was under way. Throws (the journal kept) when it cannot, e.g. the destination's disk is gone.
 */
export async function recoverModelStoreMove(paths: ElmwoodPaths): Promise<Recovery | null> {
  const journal = await readJsonFile<Journal>(journalFile(paths));
  if (!journal) {
    // No journal, or a broken one (a crash mid-write leaves the old one, never half a file).
    return null;
  }
  if (
    journal.version !== 1 ||
    typeof journal.staging !== "string" ||
    !journal.staging.includes(STAGING_PREFIX)
  ) {
    throw new ElmwoodError(
      "DISK",
      `Elmwood cannot read ${journalFile(paths)}, the record of an interrupted move of the models folder.`,
      "Check where your models are, then delete that file and start Elmwood again.",
    );
  }
  if (journal.host === hostname() && journal.pid !== process.pid && isProcessAlive(journal.pid)) {
    throw new ElmwoodError(
      "BUSY",
      `Another Elmwood process (${journal.pid}) is moving the models folder to ${journal.to}.`,
      "Wait for it to finish, then start this one again.",
    );
  }
  if (journal.phase === "staging") {
    await rollBack(journal, paths);
    return { outcome: "rolled-back", from: journal.from, to: journal.to };
  }
  if (!(await isDirectory(journal.to))) {
    throw new ElmwoodError(
      "DISK",
      `A move of the models folder to ${journal.to} was interrupted, and that folder cannot be reached now.`,
      "Connect the disk it is on and start Elmwood again; the move will be finished then.",
    );
  }
  await finish(journal, paths, {});
  return { outcome: "finished", from: journal.from, to: journal.to };
}
