/**
 * Moving the data folder (engine/profile/data-move.ts) and finding it again (engine/paths.ts), over
 * temp folders only: the app-data folder is passed in, never the real one. A crash is a child process
 * doing the move killed (SIGKILL) at a step; the next start (applyPendingDataMove here, breaking the
 * dead process's lock) must finish or undo the move.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { elmwoodPaths, locateProfile, PROFILE_POINTER } from "../../engine/paths.ts";
import {
  applyPendingDataMove,
  cancelDataMove,
  DATA_MOVE_JOURNAL,
  type DataMoveProgress,
  type DataMoveStep,
  readDataMove,
  scheduleDataMove,
} from "../../engine/profile/data-move.ts";
import { holdProfile, LEASES_FOLDER, otherHolders } from "../../engine/profile/leases.ts";
import { spawnUntilStep } from "../support/step-child.ts";

let root: string;
let base: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-data-move-"));
  base = join(root, "appdata");
  await mkdir(join(root, "disk2"));
});
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  }
  await rm(root, { recursive: true, force: true });
});

const env = {};
const here = () => locateProfile({ base, env });
/** Two disks, as far as the move can tell: the copy path, with its read-back check. */
const otherDisk = { deviceOf: async (path: string) => (path.startsWith(join(root, "disk2")) ? 2 : 1) };

/** Runs test/profile/profile-db-child.ts: the database written or read by a process that then exits. */
function database(mode: "make" | "read", home: string): string {
  return execFileSync(process.execPath, ["bin/run-ts.js", "test/profile/profile-db-child.ts", mode, home], {
    encoding: "utf8",
  });
}

/** A profile with a database row, settings files, a model and a cache, in `home`. */
async function makeProfile(home: string) {
  await mkdir(home, { recursive: true });
  database("make", home);
  await writeFile(join(home, "engines.json"), '{"engines":[]}\n');
  await mkdir(join(home, "models", "tiny"), { recursive: true });
  await writeFile(join(home, "models", "tiny", "weights.bin"), Buffer.alloc(50_000, 7));
  await mkdir(join(home, "cache"), { recursive: true });
  await writeFile(join(home, "cache", "provider-choices.json"), "{}");
}

async function expectProfileAt(home: string) {
  expect(database("read", home)).toBe("kept across the move");
  expect(await readFile(join(home, "engines.json"), "utf8")).toContain("engines");
  expect((await readFile(join(home, "models", "tiny", "weights.bin"))).length).toBe(50_000);
}

async function schedule(to: string) {
  return scheduleDataMove(here(), elmwoodPaths(here().home), to, otherDisk);
}

/**
 * Runs the move in a child process and kills it (SIGKILL) when it reaches `step`, as a crash would:
 * its journal, its lock and the folders are left as they were at that moment.
 */
async function crashAt(step: DataMoveStep, options: { sameDisk?: boolean } = {}) {
  const child = await spawnUntilStep(
    [
      "bin/run-ts.js",
      "test/profile/data-move-child.ts",
      base,
      step,
      join(root, "disk2"),
      options.sameDisk ? "same" : "",
    ],
    step,
  );
  children.push(child);
  child.kill("SIGKILL");
  await once(child, "exit");
}

describe("where the profile is", () => {
  it("follows ELMWOOD_HOME over everything", async () => {
    await mkdir(base, { recursive: true });
    await writeFile(join(base, PROFILE_POINTER), JSON.stringify({ home: root }));
    const found = locateProfile({ base, env: { ELMWOOD_HOME: "/somewhere/else" } });
    expect(found).toMatchObject({ home: "/somewhere/else", fromEnvironment: true, pointerProblem: null });
  });

  it("is the app-data folder with no pointer, and the pointer's folder with one", async () => {
    expect(locateProfile({ base, env })).toMatchObject({
      home: base,
      fromEnvironment: false,
      pointerProblem: null,
    });
    const moved = join(root, "moved");
    await mkdir(moved, { recursive: true });
    await mkdir(base, { recursive: true });
    await writeFile(join(base, PROFILE_POINTER), JSON.stringify({ home: moved }));
    expect(locateProfile({ base, env })).toMatchObject({ home: moved, pointerProblem: null });
  });

  it("falls back to the app-data folder, saying why, when the pointer is broken or its folder is gone", async () => {
    await mkdir(base, { recursive: true });
    for (const [text, why] of [
      ["{not json", "cannot be read"],
      [JSON.stringify({ home: "relative/folder" }), "does not name a folder"],
      [JSON.stringify({ home: join(root, "unplugged") }), "cannot be reached"],
    ]) {
      await writeFile(join(base, PROFILE_POINTER), text);
      const found = locateProfile({ base, env });
      expect(found.home).toBe(base);
      expect(found.pointerProblem).toContain(why);
    }
  });
});

describe("scheduling a move of the data folder", () => {
  beforeEach(async () => {
    await mkdir(base, { recursive: true });
    await makeProfile(base);
  });

  it("refuses a relative path, the folder itself, a folder inside it, a file and a folder that is not empty", async () => {
    await mkdir(join(root, "full"));
    await writeFile(join(root, "full", "a.txt"), "x");
    await writeFile(join(root, "file"), "x");
    for (const [to, message] of [
      ["relative/place", "not a full path"],
      [base, "data folder already"],
      [join(base, "inside"), "inside the current data folder"],
      [join(root, "file"), "is a file"],
      [join(root, "full"), "is not empty"],
    ]) {
      await expect(schedule(to)).rejects.toMatchObject({
        code: "BAD_INPUT",
        message: expect.stringContaining(message),
      });
    }
    expect(await readDataMove(base)).toBeNull();
  });

  it("refuses when ELMWOOD_HOME chose the data folder", async () => {
    const fromEnv = locateProfile({ base, env: { ELMWOOD_HOME: base } });
    await expect(scheduleDataMove(fromEnv, elmwoodPaths(base), join(root, "new"))).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("ELMWOOD_HOME"),
    });
  });

  it("refuses when the other disk has too little room", async () => {
    await expect(
      scheduleDataMove(here(), elmwoodPaths(base), join(root, "disk2", "elmwood"), {
        ...otherDisk,
        freeSpace: async () => 1_000,
      }),
    ).rejects.toMatchObject({ code: "DISK", message: expect.stringContaining("Not enough space") });
  });

  it("refuses while another live Elmwood process has the profile open, naming it", async () => {
    await mkdir(join(base, LEASES_FOLDER), { recursive: true });
    const other = { pid: process.ppid, host: hostname(), purpose: "elmwood serve", since: "" };
    await writeFile(join(base, LEASES_FOLDER, "other.json"), JSON.stringify(other));
    await expect(schedule(join(root, "new"))).rejects.toMatchObject({
      code: "BUSY",
      message: expect.stringContaining(`process ${process.ppid} (elmwood serve)`),
    });
    // A lease left by a process that is gone counts for nothing.
    await writeFile(
      join(base, LEASES_FOLDER, "other.json"),
      JSON.stringify({ ...other, pid: 2 ** 22 + 12345 }),
    );
    await expect(schedule(join(root, "new"))).resolves.toMatchObject({ state: "scheduled" });
  });

  it("records the move, which can be cancelled, and leaves this process's own lease out of the count", async () => {
    const lease = holdProfile(base, "this test");
    expect(otherHolders(base)).toEqual([]);
    const scheduled = await schedule(join(root, "new"));
    lease.release();
    expect(scheduled).toMatchObject({ state: "scheduled", from: base, to: join(root, "new") });
    expect(await readDataMove(base)).toMatchObject({ state: "scheduled", to: join(root, "new") });
    expect(await cancelDataMove(base)).toBe(true);
    expect(await readDataMove(base)).toBeNull();
    expect(await cancelDataMove(base)).toBe(false);
    expect(await applyPendingDataMove({ base, env })).toBeNull();
    expect(here().home).toBe(base);
  });
});

describe("the move at the next start", () => {
  beforeEach(async () => {
    await mkdir(base, { recursive: true });
    await makeProfile(base);
  });

  it("copies to another disk, checks the copy, switches, and deletes the old profile", async () => {
    const to = join(root, "disk2", "elmwood");
    await schedule(to);
    const lines: string[] = [];
    const progress: DataMoveProgress[] = [];
    const outcome = await applyPendingDataMove({
      base,
      env,
      ...otherDisk,
      log: (l) => lines.push(l),
      onProgress: (p) => progress.push(p),
    });
    expect(outcome?.error).toBeUndefined();
    expect(outcome).toMatchObject({ state: "moved", from: base, to, method: "copy" });
    expect(here().home).toBe(to);
    await expectProfileAt(to);
    // The app-data folder keeps only the pointer.
    expect((await readdir(base)).sort()).toEqual([PROFILE_POINTER]);
    expect(lines.some((l) => l.includes("checking the copy"))).toBe(true);
    // Copying, then checking the copy, then the switch and cleanup; never more than the whole.
    const phases = progress.map((p) => p.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(["copying", "checking", "finishing"]);
    const copying = progress.filter((p) => p.phase === "copying");
    expect(copying[0]?.totalBytes).toBeGreaterThan(50_000);
    expect(
      copying.every((p, i) => p.doneBytes <= p.totalBytes && p.doneBytes >= (copying[i - 1]?.doneBytes ?? 0)),
    ).toBe(true);
    expect(await readDataMove(base)).toBeNull();
  });

  it("renames on the same disk, and moves back into the app-data folder later", async () => {
    const to = join(root, "elsewhere");
    await scheduleDataMove(here(), elmwoodPaths(base), to);
    const outcome = await applyPendingDataMove({ base, env });
    expect(outcome?.error).toBeUndefined();
    expect(outcome).toMatchObject({ state: "moved", method: "rename" });
    await expectProfileAt(to);
    await scheduleDataMove(here(), elmwoodPaths(here().home), base);
    expect(await applyPendingDataMove({ base, env })).toMatchObject({ state: "moved", from: to, to: base });
    expect(here().home).toBe(base);
    expect(existsSync(join(base, PROFILE_POINTER))).toBe(false);
    await expectProfileAt(base);
    // The folder it was in before, empty now, is gone.
    expect(existsSync(to)).toBe(false);
  });

  it("carries a models folder kept elsewhere as its pointer, unchanged", async () => {
    const store = join(root, "store");
    await mkdir(join(store, "models"), { recursive: true });
    const pointer = JSON.stringify({ root: store });
    await writeFile(join(base, "model-store.json"), pointer);
    const to = join(root, "disk2", "elmwood");
    await schedule(to);
    const outcome = await applyPendingDataMove({ base, env, ...otherDisk });
    expect(outcome?.error).toBeUndefined();
    expect(await readFile(join(to, "model-store.json"), "utf8")).toBe(pointer);
    expect(elmwoodPaths(here().home).modelStore).toBe(store);
    expect(existsSync(join(store, "models"))).toBe(true);
  });

  it("waits, touching nothing, while another process has the profile open", async () => {
    const to = join(root, "disk2", "elmwood");
    await schedule(to);
    await mkdir(join(base, LEASES_FOLDER), { recursive: true });
    await writeFile(
      join(base, LEASES_FOLDER, "other.json"),
      JSON.stringify({ pid: process.ppid, host: hostname(), purpose: "the desktop app", since: "" }),
    );
    const outcome = await applyPendingDataMove({ base, env, ...otherDisk });
    expect(outcome).toMatchObject({ state: "waiting", error: { code: "BUSY" } });
    expect(outcome?.error?.message).toContain("the desktop app");
    expect(here().home).toBe(base);
    expect(existsSync(to)).toBe(false);
    expect(await readDataMove(base)).toMatchObject({ state: "scheduled" });
  });

  it("fails, keeping the old profile and saying why, when the destination filled up meanwhile", async () => {
    const to = join(root, "disk2", "elmwood");
    await schedule(to);
    await mkdir(to, { recursive: true });
    await writeFile(join(to, "someone-elses.txt"), "x");
    const outcome = await applyPendingDataMove({ base, env, ...otherDisk });
    expect(outcome).toMatchObject({ state: "failed", error: { code: "BAD_INPUT" } });
    expect(here().home).toBe(base);
    await expectProfileAt(base);
    expect(await readDataMove(base)).toMatchObject({ state: "failed", error: { code: "BAD_INPUT" } });
    // A failed move is not tried again; dismissing it forgets it.
    expect(await applyPendingDataMove({ base, env, ...otherDisk })).toBeNull();
    expect(await cancelDataMove(base)).toBe(true);
  });

  it("after a crash during the copy, keeps using the old profile whole and removes the partial copy", async () => {
    const to = join(root, "disk2", "elmwood");
    await schedule(to);
    await crashAt("copied-entry");
    expect(JSON.parse(await readFile(join(base, DATA_MOVE_JOURNAL), "utf8")).phase).toBe("copying");
    expect(here().home).toBe(base);
    // The next start finds the profile in use elsewhere, so it only undoes the partial copy.
    await mkdir(join(base, LEASES_FOLDER), { recursive: true });
    await writeFile(
      join(base, LEASES_FOLDER, "other.json"),
      JSON.stringify({ pid: process.ppid, host: hostname(), purpose: "", since: "" }),
    );
    expect(await applyPendingDataMove({ base, env, ...otherDisk })).toMatchObject({ state: "waiting" });
    expect(existsSync(to)).toBe(false);
    await expectProfileAt(base);
    // And once nobody else has it open, the move runs.
    await rm(join(base, LEASES_FOLDER), { recursive: true });
    expect(await applyPendingDataMove({ base, env, ...otherDisk })).toMatchObject({ state: "moved" });
    await expectProfileAt(to);
  });

  it("after a crash in the middle of same-disk renames, puts the profile back together", async () => {
    const to = join(root, "elsewhere");
    await scheduleDataMove(here(), elmwoodPaths(base), to);
    await crashAt("copied-entry", { sameDisk: true });
    // Part of the profile is in the staging folder now: the next start undoes that first.
    await mkdir(join(base, LEASES_FOLDER), { recursive: true });
    await writeFile(
      join(base, LEASES_FOLDER, "other.json"),
      JSON.stringify({ pid: process.ppid, host: hostname(), purpose: "", since: "" }),
    );
    expect(await applyPendingDataMove({ base, env })).toMatchObject({ state: "waiting" });
    await expectProfileAt(base);
    expect(existsSync(to)).toBe(false);
  });

  it("after a crash once the copy is staged, finishes the move at the next start", async () => {
    const to = join(root, "disk2", "elmwood");
    await schedule(to);
    await crashAt("staged");
    expect(here().home).toBe(base);
    expect(await applyPendingDataMove({ base, env, ...otherDisk })).toMatchObject({ state: "moved", to });
    expect(here().home).toBe(to);
    await expectProfileAt(to);
    expect(existsSync(join(base, "elmwood.db"))).toBe(false);
  });

  it("after a crash between the switch and the cleanup, uses the new profile and cleans up at the next start", async () => {
    const to = join(root, "disk2", "elmwood");
    await schedule(to);
    await crashAt("switched");
    expect(here().home).toBe(to);
    await expectProfileAt(to);
    // The old copy is still there until the next start.
    expect(existsSync(join(base, "elmwood.db"))).toBe(true);
    expect(await applyPendingDataMove({ base, env, ...otherDisk })).toMatchObject({ state: "moved" });
    expect((await readdir(base)).sort()).toEqual([PROFILE_POINTER]);
    await expectProfileAt(to);
  });

  it("past the staging, waits for a destination disk that is gone rather than use the old copy", async () => {
    const to = join(root, "disk2", "elmwood");
    await schedule(to);
    await crashAt("switched");
    // The disk is unplugged before the next start.
    await rename(to, join(root, "unplugged"));
    await expect(applyPendingDataMove({ base, env, ...otherDisk })).rejects.toMatchObject({
      code: "DISK",
      hint: expect.stringContaining("Connect the disk"),
    });
    expect(existsSync(join(base, "elmwood.db"))).toBe(true);
    await rename(join(root, "unplugged"), to);
    expect(await applyPendingDataMove({ base, env, ...otherDisk })).toMatchObject({ state: "moved" });
    await expectProfileAt(to);
  });

  it("refuses a journal it cannot make sense of, touching nothing", async () => {
    await writeFile(
      join(base, DATA_MOVE_JOURNAL),
      JSON.stringify({
        version: 1,
        id: "x",
        from: base,
        to: join(root, "new"),
        phase: "cleaning",
        attempts: 0,
      }),
    );
    await expect(applyPendingDataMove({ base, env })).rejects.toMatchObject({ code: "DISK" });
    await expectProfileAt(base);
  });

  it("does nothing when ELMWOOD_HOME is set", async () => {
    await schedule(join(root, "new"));
    expect(await applyPendingDataMove({ base, env: { ELMWOOD_HOME: base } })).toBeNull();
    expect(await readDataMove(base)).toMatchObject({ state: "scheduled" });
  });
});
