/**
 * Free-space checks before long writes, so a pull fails in its first second rather than at 90%.
 * The probe is injectable: tests simulate a small disk without filling one.
 */
import { statfs } from "node:fs/promises";
import { ElmwoodError } from "../engine/errors.ts";
import { formatBytes } from "./catalog.ts";

/** Bytes the current user may still write on the file system holding `dir`. */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

export const freeSpaceOnDisk: FreeSpaceProbe = async (dir) => {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
};

/** Room kept free beyond the estimate: the file system, the database and logs need some too. */
const MARGIN_BYTES = 64_000_000;

/** Throws DISK when `dir`'s file system cannot take `neededBytes` (plus a margin) for `what`. */
export async function ensureFreeSpace(
  dir: string,
  neededBytes: number,
  what: string,
  probe: FreeSpaceProbe = freeSpaceOnDisk,
): Promise<void> {
  if (neededBytes <= 0) return;
  const free = await probe(dir);
  if (free >= neededBytes + MARGIN_BYTES) return;
  throw new ElmwoodError(
    "DISK",
    `Not enough disk space for ${what}: it needs about ${formatBytes(neededBytes + MARGIN_BYTES)} and ${formatBytes(free)} is free in ${dir}.`,
    "Free some space (for example 'elmwood models rm <name>' or its '--source' option), or set ELMWOOD_HOME to a folder on a larger disk.",
  );
}

/** True for the errors a write raises when the disk is full or the quota is spent. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}
