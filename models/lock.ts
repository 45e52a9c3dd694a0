/**
 * A cross-process lock: a file created with O_EXCL that holds the owner's pid, host and start time.
 * A lock whose process has died is stale and is broken; a live one is waited for, up to a timeout
 * that ends in a BUSY error naming the holder.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { cancelled, ElmwoodError } from "../engine/errors.ts";

export interface LockInfo {
  pid: number;
  host: string;
  createdAt: string;
  /** What the holder is doing, for the waiting side's message. */
  purpose: string;
  token: string;
}

export interface HeldLock {
  path: string;
  /** Removes the lock file if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Shown to a process that has to wait, e.g. "pulling apple/OpenELM-270M". */
  purpose: string;
  /** How long to wait for a live holder before giving up with BUSY. */
  timeoutMs?: number;
  /** How often to look again while waiting. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once, when the lock is found held by another live owner. */
  onWait?: (holder: LockInfo) => void;
}

/** A lock file that cannot be parsed is being written; after this long its writer is presumed dead. */
const UNREADABLE_GRACE_MS = 10_000;

/** Whether a process with this pid runs on this machine. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM";
  }
}

async function readLock(path: string): Promise<{ info?: LockInfo; ageMs: number } | undefined> {
  try {
    const [text, stats] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const ageMs = Date.now() - stats.mtimeMs;
    try {
      const info = JSON.parse(text) as LockInfo;
      return typeof info?.pid === "number" ? { info, ageMs } : { ageMs };
    } catch {
      return { ageMs };
    }
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return undefined;
    throw error;
  }
}

function isStale(found: { info?: LockInfo; ageMs: number }): boolean {
  if (!found.info) return found.ageMs > UNREADABLE_GRACE_MS;
  // A pid on another host (a shared folder) cannot be checked; that holder is waited for.
  return found.info.host === hostname() && !isProcessAlive(found.info.pid);
}

async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  try {
    const handle = await open(path, "wx");
    try {
      await handle.writeFile(JSON.stringify(info));
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Removes a stale lock. Two waiters may both see it stale; a short-lived breaker lock makes sure
 * only one removes it and that a fresh lock taken meanwhile is not removed by the other.
 */
async function breakStale(path: string, seen: LockInfo | undefined): Promise<void> {
  const breaker = `${path}.break`;
  const mine: LockInfo = {
    pid: process.pid,
    host: hostname(),
    createdAt: new Date().toISOString(),
    purpose: "",
    token: "",
  };
  if (!(await tryCreate(breaker, mine))) {
    const other = await readLock(breaker);
    if (other && isStale(other)) await rm(breaker, { force: true });
    return;
  }
  try {
    const now = await readLock(path);
    if (now && now.info?.token === seen?.token && isStale(now)) await rm(path, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled("Waiting for the other process"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Takes the lock at `path`, waiting while another live process holds it. */
export async function acquireLock(path: string, options: LockOptions): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 250;
  const started = Date.now();
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    createdAt: new Date().toISOString(),
    purpose: options.purpose,
    token: randomBytes(8).toString("hex"),
  };
  await mkdir(dirname(path), { recursive: true });
  let told = false;
  for (;;) {
    if (options.signal?.aborted) throw cancelled("Waiting for the other process");
    if (await tryCreate(path, info)) return heldLock(path, info.token);
    const found = await readLock(path);
    if (!found) continue;
    if (isStale(found)) {
      await breakStale(path, found.info);
      continue;
    }
    if (found.info && !told) {
      told = true;
      options.onWait?.(found.info);
    }
    if (Date.now() - started >= timeoutMs) {
      const who = found.info
        ? `process ${found.info.pid} (${found.info.purpose || "working"}, since ${found.info.createdAt})`
        : "another process";
      throw new ElmwoodError(
        "BUSY",
        `Another Elmwood ${who} holds ${path}; waited ${Math.round(timeoutMs / 1000)} s.`,
        "Wait for it to finish and try again, or stop that process; a lock left by a process that has exited is cleared automatically.",
      );
    }
    await wait(pollMs, options.signal);
  }
}

function heldLock(path: string, token: string): HeldLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      const found = await readLock(path).catch(() => undefined);
      if (found?.info?.token === token) await rm(path, { force: true });
    },
  };
}
