/**
 * Who has the profile open. Each Elmwood service (the app, `elmwood serve`, a CLI command that opens
 * the database through the service) keeps a small file in <profile>/.in-use/ while it runs, naming
 * its process. A move of the data folder is refused while any other live process holds one: moving a
 * database from under a process that has it open would lose what it writes next.
 *
 * A process that crashed leaves its file behind; a file whose process is gone counts for nothing.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { isProcessAlive } from "../../models/lock.ts";

export const LEASES_FOLDER = ".in-use";

export interface Lease {
  pid: number;
  host: string;
  /** What holds it, in words: "the desktop app", "elmwood serve". */
  purpose: string;
  since: string;
}

export interface HeldLease {
  release(): void;
}

/** Lease files of this process, removed when it exits without closing (a CLI command's quick exit). */
const held = new Set<string>();
let exitHook = false;

/** This process in words, for another one's message: "the desktop app", "elmwood serve". */
export function describeThisProcess(): string {
  if (process.versions.electron) return "the desktop app";
  const command = process.argv[2];
  return command && /^[a-z-]+$/.test(command) ? `elmwood ${command}` : "an Elmwood process";
}

/** Records that this process has the profile in `home` open; release() when it lets go. */
export function holdProfile(home: string, purpose: string = describeThisProcess()): HeldLease {
  const dir = join(home, LEASES_FOLDER);
  const file = join(dir, `${process.pid}-${randomBytes(4).toString("hex")}.json`);
  const lease: Lease = { pid: process.pid, host: hostname(), purpose, since: new Date().toISOString() };
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(lease));
    held.add(file);
    if (!exitHook) {
      exitHook = true;
      process.once("exit", () => {
        for (const path of held) rmSync(path, { force: true });
      });
    }
  } catch {
    // A read-only profile cannot record its users; opening the database reports that problem.
    return { release: () => undefined };
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      held.delete(file);
      rmSync(file, { force: true });
    },
  };
}

/** Live processes other than this one that have the profile in `home` open. */
export function otherHolders(home: string): Lease[] {
  const dir = join(home, LEASES_FOLDER);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const holders: Lease[] = [];
  for (const name of names) {
    let lease: Lease;
    try {
      lease = JSON.parse(readFileSync(join(dir, name), "utf8")) as Lease;
    } catch {
      continue;
    }
    if (typeof lease?.pid !== "number" || lease.pid === process.pid) continue;
    // A process on another machine (a shared folder) cannot be checked: it counts as live.
    if (lease.host !== hostname() || isProcessAlive(lease.pid)) holders.push(lease);
  }
  return holders;
}

/** "process 123 (elmwood serve)", for messages. */
export function describeHolder(lease: Lease): string {
  return `process ${lease.pid}${lease.purpose ? ` (${lease.purpose})` : ""}`;
}
