import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { acquireLock, type LockInfo } from "../../models/lock.ts";

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "elmwood-lock-"));
  path = join(dir, "x.lock");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("acquireLock", () => {
  it("records the holder's pid and removes the file on release", async () => {
    const lock = await acquireLock(path, { purpose: "testing" });
    const info = JSON.parse(await readFile(path, "utf8")) as LockInfo;
    expect(info).toMatchObject({ pid: process.pid, host: hostname(), purpose: "testing" });
    await lock.release();
    await expect(stat(path)).rejects.toThrow();
  });

  it("makes a second taker wait until the first releases", async () => {
    const first = await acquireLock(path, { purpose: "first" });
    let told!: (holder: LockInfo) => void;
    const waitedOn = new Promise<LockInfo>((resolve) => {
      told = resolve;
    });
    let acquired = false;
    const second = acquireLock(path, {
      purpose: "second",
      pollMs: 10,
      onWait: (holder) => told(holder),
    }).then((lock) => {
      acquired = true;
      return lock;
    });
    expect((await waitedOn).purpose).toBe("first");
    expect(acquired).toBe(false);
    await first.release();
    const lock = await second;
    expect(JSON.parse(await readFile(path, "utf8")).purpose).toBe("second");
    await lock.release();
  });

  it("gives up with BUSY naming the holder after the timeout", async () => {
    const first = await acquireLock(path, { purpose: "pulling apple/OpenELM-270M" });
    const error = await acquireLock(path, { purpose: "second", timeoutMs: 30, pollMs: 10 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ElmwoodError);
    expect((error as ElmwoodError).code).toBe("BUSY");
    expect((error as ElmwoodError).message).toContain(`process ${process.pid} (pulling apple/OpenELM-270M`);
    await first.release();
  });

  it("breaks a lock left by a process that has exited", async () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const stale: LockInfo = {
      pid: dead,
      host: hostname(),
      createdAt: "2020-01-01T00:00:00Z",
      purpose: "x",
      token: "old",
    };
    await writeFile(path, JSON.stringify(stale));
    const lock = await acquireLock(path, { purpose: "fresh", timeoutMs: 0 });
    expect(JSON.parse(await readFile(path, "utf8")).purpose).toBe("fresh");
    await lock.release();
  });

  it("does not remove a lock another owner took after ours was broken", async () => {
    const ours = await acquireLock(path, { purpose: "ours" });
    await writeFile(
      path,
      JSON.stringify({ pid: process.pid, host: hostname(), purpose: "theirs", token: "t" }),
    );
    await ours.release();
    expect(JSON.parse(await readFile(path, "utf8")).purpose).toBe("theirs");
  });
});
