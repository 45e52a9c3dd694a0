/**
 * Who is writing a reply in progress: "<pid>:<instance>". The desktop app, `elmwood serve` and the
 * CLI can share one profile, so a service starting up must not take over a reply another live
 * process is still writing; it recovers only those whose writer is gone.
 */
import { randomUUID } from "node:crypto";

export function newOwner(pid = process.pid): string {
  return `${pid}:${randomUUID().slice(0, 8)}`;
}

/** Whether a process with this id is running (on this machine, visible to us or not). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether `owner`'s replies are abandoned, seen from `self`. Our own process id with another
 * instance means an earlier process that had the same id (a container restarted after a kill):
 * this process's own writers are all known to it, so that writer cannot be running.
 */
export function ownerGone(
  owner: string,
  self: string,
  alive: (pid: number) => boolean = processAlive,
): boolean {
  if (owner === self) return false;
  const pid = Number(owner.split(":")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === Number(self.split(":")[0])) return true;
  return !alive(pid);
}
