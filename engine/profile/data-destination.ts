/**
 * What moves when the data folder moves, and whether a folder can take it: the profile's entries (all
 * but the app-data folder's own files) and the checks Settings runs before scheduling a move and the
 * next start runs again before doing it.
 */
import { lstat, readdir, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { formatBytes } from "../../models/catalog.ts";
import { type FreeSpaceProbe, freeSpaceOnDisk } from "../../models/disk.ts";
import { isInside } from "../../models/store.ts";
import {
  assertWritable,
  existingAncestor,
  OS_LITTER,
  type TreeEntry,
  walkTree,
} from "../../models/store-move.ts";
import { ElmwoodError } from "../errors.ts";
import { type ElmwoodPaths, PROFILE_POINTER, type ProfileLocation } from "../paths.ts";
import { LEASES_FOLDER } from "./leases.ts";

export const DATA_MOVE_JOURNAL = "profile-move.json";
export const MOVE_LOCK = "profile-move.lock";
export const STAGING_PREFIX = ".elmwood-profile-moving-";
/** Files of the app-data folder itself, and per-process ones: never part of the profile that moves. */
export const NOT_CARRIED = new Set([
  PROFILE_POINTER,
  DATA_MOVE_JOURNAL,
  MOVE_LOCK,
  `${MOVE_LOCK}.break`,
  LEASES_FOLDER,
]);
const MARGIN_BYTES = 64_000_000;

export interface DataMoveEnvironment {
  freeSpace?: FreeSpaceProbe;
  /** The device a path is on (stat's dev): the same device means a move is a rename. */
  deviceOf?: (path: string) => Promise<number>;
}

function badInput(message: string, hint: string): ElmwoodError {
  return new ElmwoodError("BAD_INPUT", message, hint);
}

/** The profile's entries that move: everything in it but the app-data folder's own files. */
export async function profileEntries(home: string): Promise<string[]> {
  const names = await readdir(home).catch(() => [] as string[]);
  return names.filter((name) => !NOT_CARRIED.has(name) && !name.startsWith(STAGING_PREFIX)).sort();
}

const SQLITE_SIDE_FILE = /\.db-(wal|shm|journal)$/;

/**
 * Whether `error` says a SQLite -wal, -shm or -journal file vanished: SQLite deletes them as the last
 * connection of a process that just quit lets go, and a file that is gone needs no moving.
 */
export function isVanishedSideFile(error: unknown, path: string): boolean {
  return (error as { code?: string })?.code === "ENOENT" && SQLITE_SIDE_FILE.test(path);
}

export async function treeOf(home: string, names: string[]): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  for (const name of names) {
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(join(home, name));
    } catch (error) {
      if (isVanishedSideFile(error, name)) continue;
      throw error;
    }
    if (info.isDirectory()) {
      out.push({ path: name, bytes: 0, kind: "dir" });
      await walkTree(home, name, out);
    } else if (info.isSymbolicLink()) out.push({ path: name, bytes: 0, kind: "link" });
    else if (info.isFile()) out.push({ path: name, bytes: info.size, kind: "file" });
  }
  return out;
}

export interface DataDestination {
  path: string;
  sameDisk: boolean | null;
  /** What the profile holds now. */
  bytes: number;
  freeBytes: number | null;
}

/**
 * Whether the profile in `home` can move to `destination`: a full path, outside the profile, a new
 * or empty folder (the app-data folder itself, when the profile was moved out of it), writable, with
 * room for a copy when it is on another disk. BAD_INPUT or DISK, saying what to choose instead.
 */
export async function checkDataDestination(
  location: Pick<ProfileLocation, "base">,
  paths: ElmwoodPaths,
  destination: string,
  environment: DataMoveEnvironment = {},
): Promise<DataDestination> {
  if (!isAbsolute(destination)) {
    throw badInput(`'${destination}' is not a full path.`, "Give the folder's whole path, from the top.");
  }
  const to = resolve(destination);
  const from = resolve(paths.home);
  const base = resolve(location.base);
  if (to === from) throw badInput("This is the data folder already.", "Choose another folder.");
  if (isInside(from, to)) {
    throw badInput(
      "That folder is inside the current data folder.",
      "Choose a folder outside it, for example beside it.",
    );
  }
  const store = resolve(paths.modelStore);
  if (store !== from && (to === store || isInside(store, to))) {
    throw badInput("That folder is the models folder, or inside it.", "Choose a folder outside it.");
  }
  if (store !== from && isInside(from, store)) {
    // Its pointer names a place inside the old profile, which the move deletes.
    throw badInput(
      `The models folder (${store}) is inside the data folder, but not in its usual place.`,
      "Move the models folder out of the data folder first (Settings, Models folder), then move the data folder.",
    );
  }
  let info: Awaited<ReturnType<typeof stat>> | null = null;
  try {
    info = await stat(to);
  } catch {
    // A new folder: created by the move.
  }
  if (info && !info.isDirectory()) throw badInput(`${to} is a file, not a folder.`, "Choose a folder.");
  if (info) {
    const names = (await readdir(to).catch(() => null))?.filter((name) => !OS_LITTER.has(name));
    if (!names) throw badInput(`Elmwood cannot read ${to}.`, "Choose a folder you can read and write.");
    // The app-data folder keeps its own files (the pointer) when the profile moves back into it.
    const foreign = to === base ? names.filter((name) => !NOT_CARRIED.has(name)) : names;
    if (foreign.length > 0) {
      throw badInput(
        `${to} is not empty.`,
        "Choose an empty folder, or a new one (Elmwood creates it): the data folder is moved in whole.",
      );
    }
  }
  const anchor = await existingAncestor(to);
  await assertWritable(anchor);
  const deviceOf = environment.deviceOf ?? (async (path: string) => (await stat(path)).dev);
  const [here, there] = await Promise.all([deviceOf(from), deviceOf(anchor)]).catch(() => [] as number[]);
  const sameDisk = here !== undefined && there !== undefined ? here === there : null;
  const bytes = (await treeOf(from, await profileEntries(from))).reduce((sum, e) => sum + e.bytes, 0);
  const freeBytes = await (environment.freeSpace ?? freeSpaceOnDisk)(anchor).catch(() => null);
  if (sameDisk !== true && freeBytes !== null && freeBytes < bytes + MARGIN_BYTES) {
    throw new ElmwoodError(
      "DISK",
      `Not enough space in ${to}: the data folder holds ${formatBytes(bytes)} and ${formatBytes(freeBytes)} is free there.`,
      "Free some space on that disk, or choose another one.",
    );
  }
  return { path: to, sameDisk, bytes, freeBytes };
}
