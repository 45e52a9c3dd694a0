/**
 * Moving the model store from Settings, through the service: on the same disk (a rename) and to
 * another one (a copy, checked, then the switch), refusals with a way forward, cancel, a model in use,
 * and crashes: a child process doing the move is killed at a step, and the next start finishes or
 * undoes the move so the store is whole in exactly one place.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EventPayload } from "../../engine/api/contract.ts";
import { elmwoodPaths, MODEL_STORE_POINTER } from "../../engine/paths.ts";
import { ElmwoodService, type ElmwoodServiceOptions } from "../../engine/service.ts";
import { MOVE_JOURNAL } from "../../models/store-move.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../support/random-checkpoint.ts";
import { spawnUntilStep } from "../support/step-child.ts";
import { nextEvent } from "./fixture.ts";

const MODEL = "tiny-move";
const REPO_DIR = ["apple", "OpenELM-tiny"];

let root: string;
let checkpoint: string;
const open: ElmwoodService[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-store-move-"));
  checkpoint = join(root, "checkpoint");
  await writeRandomCheckpoint(checkpoint, { ...SMALL_OPENELM, vocabSize: 1024, seed: 5 });
}, 120_000);

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  }
  await Promise.all(open.splice(0).map((service) => service.close()));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

let counter = 0;

function service(home: string, options: Partial<ElmwoodServiceOptions> = {}): ElmwoodService {
  const started = new ElmwoodService({ paths: elmwoodPaths(home), ...options });
  open.push(started);
  return started;
}

/**
 * A fresh profile whose store holds one model converted from a "downloaded" checkpoint (so the
 * manifest points into downloads/), and a place to move it to.
 */
async function profile(): Promise<{ home: string; elsewhere: string }> {
  const base = join(root, `p${++counter}`);
  const home = join(base, "home");
  const downloaded = join(home, "downloads", ...REPO_DIR);
  await mkdir(downloaded, { recursive: true });
  await cp(checkpoint, downloaded, { recursive: true });
  // Where another disk would be mounted; the new models folder is made inside it.
  await mkdir(join(base, "elsewhere"));
  const setup = new ElmwoodService({ paths: elmwoodPaths(home) });
  try {
    const finished = nextEvent(setup, "models.progress", (e) =>
      ["finished", "failed"].includes(e.progress.type),
    );
    await setup.call("models.import", { path: downloaded, name: MODEL, precision: "int4" });
    const { progress } = await finished;
    if (progress.type !== "finished") throw new Error(`import failed: ${JSON.stringify(progress)}`);
  } finally {
    await setup.close();
  }
  return { home, elsewhere: join(base, "elsewhere", "Elmwood models") };
}

type MoveEnd = Extract<EventPayload<"storage.progress">["event"], { type: "done" | "failed" }>;

async function move(
  elmwood: ElmwoodService,
  path: string,
  mode: "move" | "use-existing" = "move",
): Promise<{ end: MoveEnd; phases: string[] }> {
  const phases: string[] = [];
  const off = elmwood.on("storage.progress", ({ event }) => {
    if (event.type === "progress" && phases.at(-1) !== event.phase) phases.push(event.phase);
  });
  const ended = nextEvent(elmwood, "storage.progress", (e) => e.event.type !== "progress");
  await elmwood.call("storage.moveModels", { path, mode });
  const { event } = await ended;
  off();
  return { end: event as MoveEnd, phases };
}

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

async function present(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Every file of the store below `root`, relative, with its bytes: what "the same store" means. */
async function storeFiles(storeRoot: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (name === "models/.locks") continue;
      if (entry.isDirectory()) await walk(path, name);
      else if (!name.endsWith("manifest.json"))
        out[name] = (await readFile(path)).toString("base64").slice(0, 64) + (await stat(path)).size;
    }
  };
  for (const part of ["models", "downloads"]) await walk(join(storeRoot, part), part);
  return out;
}

/** Runs a move in a child process and returns once it waits at `step` (alive, holding its journal). */
async function holdAt(
  home: string,
  destination: string,
  step: string,
  otherDisk = "",
): Promise<ChildProcess> {
  const child = await spawnUntilStep(
    ["bin/run-ts.js", "test/service/store-move-child.ts", home, destination, step, otherDisk],
    step,
  );
  children.push(child);
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await once(child, "exit");
}

/** Runs a move in a child process and kills it (SIGKILL) when it reaches `step`, as a crash would. */
async function crashAt(home: string, destination: string, step: string, otherDisk = ""): Promise<void> {
  await kill(await holdAt(home, destination, step, otherDisk));
}

describe("moving the models folder on the same disk", () => {
  it("renames the store into the new folder, rebases the manifest, and the model loads from there", async () => {
    const { home, elsewhere } = await profile();
    const before = await storeFiles(home);
    const elmwood = service(home);
    await elmwood.call("models.load", { name: MODEL, provider: "cpu", threads: 1 });

    const { end, phases } = await move(elmwood, elsewhere);
    expect(end).toMatchObject({ type: "done", method: "rename", leftBehind: null });
    expect(phases).toContain("switching");
    // The loaded model was let go before its files moved.
    expect((await elmwood.call("status.get", {})).model.state).toBe("unloaded");

    const storage = await elmwood.call("storage.get", {});
    expect(storage).toMatchObject({
      modelsFolder: elsewhere,
      modelsPath: join(elsewhere, "models"),
      moving: null,
    });
    expect(await storeFiles(elsewhere)).toEqual(before);
    expect(await entries(join(home))).not.toContain("models");
    expect(await entries(elsewhere)).toEqual(["downloads", "models"]);

    const { models } = await elmwood.call("models.list", {});
    expect(models).toHaveLength(1);
    // Still known as a checkpoint Elmwood downloaded, so "Free space" is still offered.
    expect(models[0]?.source).toEqual({
      path: join(elsewhere, "downloads", ...REPO_DIR),
      repoId: null,
      managed: true,
      present: true,
    });
    expect((await elmwood.call("models.load", { name: MODEL })).state).toBe("ready");
  });

  it("is remembered: the next start (and the CLI's paths) find the store in its new place", async () => {
    const { home, elsewhere } = await profile();
    const elmwood = service(home);
    expect((await move(elmwood, elsewhere)).end.type).toBe("done");
    await elmwood.close();
    expect(JSON.parse(await readFile(join(home, MODEL_STORE_POINTER), "utf8"))).toMatchObject({
      root: elsewhere,
    });
    expect(elmwoodPaths(home).models).toBe(join(elsewhere, "models"));
    const again = service(home);
    expect((await again.call("models.list", {})).models.map((m) => m.name)).toEqual([MODEL]);
  });

  it("moves it back into the profile folder, beside the database", async () => {
    const { home, elsewhere } = await profile();
    const elmwood = service(home);
    expect((await move(elmwood, elsewhere)).end.type).toBe("done");
    const back = await move(elmwood, home);
    expect(back.end).toMatchObject({ type: "done", method: "rename" });
    expect((await elmwood.call("storage.get", {})).modelsFolder).toBe(home);
    expect(await entries(elsewhere)).toEqual([]);
    expect((await elmwood.call("models.list", {})).models).toHaveLength(1);
  });
});

describe("moving the models folder to another disk", () => {
  /** Everything under `otherDisk` plays a second disk. */
  const onAnotherDisk = (otherDisk: string) => ({
    storeMove: {
      deviceOf: async (path: string) => (path.startsWith(otherDisk) ? 2 : 1),
      progressIntervalMs: 0,
    },
  });

  it("copies, verifies, switches, and only then deletes the old copy, reporting progress throughout", async () => {
    const { home, elsewhere } = await profile();
    const before = await storeFiles(home);
    const elmwood = service(home, onAnotherDisk(join(elsewhere, "..")));
    const report = await elmwood.call("storage.inspect", { path: elsewhere });
    expect(report).toMatchObject({ state: "missing", sameDisk: false });
    expect(report.neededBytes).toBeGreaterThan(1_000_000);

    const bytes: number[] = [];
    const off = elmwood.on("storage.progress", ({ event }) => {
      if (event.type === "progress" && event.phase === "copying") bytes.push(event.doneBytes);
    });
    const { end, phases } = await move(elmwood, elsewhere);
    off();
    expect(end).toMatchObject({ type: "done", method: "copy", bytes: report.neededBytes });
    expect(phases).toEqual(["checking", "copying", "verifying", "switching", "cleaning"]);
    expect(bytes.at(-1)).toBeLessThanOrEqual(report.neededBytes);
    expect(bytes.length).toBeGreaterThan(2);
    expect(await storeFiles(elsewhere)).toEqual(before);
    expect(await storeFiles(home)).toEqual({});
    expect(await present(join(home, MOVE_JOURNAL))).toBe(false);
    expect((await elmwood.call("models.load", { name: MODEL, provider: "cpu", threads: 1 })).state).toBe(
      "ready",
    );
  });

  it("refuses a disk without room before copying anything", async () => {
    const { home, elsewhere } = await profile();
    const elmwood = service(home, {
      ...onAnotherDisk(join(elsewhere, "..")),
      freeSpace: async () => 1_000_000,
    });
    const { end } = await move(elmwood, elsewhere);
    expect(end).toMatchObject({
      type: "failed",
      error: { code: "DISK", message: expect.stringMatching(/^Not enough space/) },
    });
    expect(await present(elsewhere)).toBe(false);
    expect((await elmwood.call("models.list", {})).models).toHaveLength(1);
  });

  it("can be cancelled while it copies: nothing moved, nothing left behind", async () => {
    const { home, elsewhere } = await profile();
    const before = await storeFiles(home);
    let cancel: () => void = () => undefined;
    const elmwood = service(home, {
      storeMove: {
        ...onAnotherDisk(join(elsewhere, "..")).storeMove,
        // Cancelled once the first file is copied, as a person pressing Cancel mid-way.
        checkpoint: async (step) => {
          if (step === "copied-file") cancel();
        },
      },
    });
    const ended = nextEvent(elmwood, "storage.progress", (e) => e.event.type !== "progress");
    const { jobId } = await elmwood.call("storage.moveModels", { path: elsewhere });
    cancel = () => void elmwood.call("storage.cancelMove", { jobId });
    expect((await ended).event).toMatchObject({ type: "failed", error: { code: "CANCELLED" } });
    expect(await storeFiles(home)).toEqual(before);
    expect(await present(elsewhere)).toBe(false);
    expect(await present(join(home, MOVE_JOURNAL))).toBe(false);
    expect((await elmwood.call("storage.get", {})).modelsFolder).toBe(home);
  });
});

describe("refusals, each with a way forward", () => {
  it("names what is wrong with a folder before starting anything", async () => {
    const { home, elsewhere } = await profile();
    const elmwood = service(home);
    await mkdir(elsewhere, { recursive: true });
    await writeFile(join(elsewhere, "notes.txt"), "mine");
    await expect(elmwood.call("storage.moveModels", { path: elsewhere })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: "That folder is not empty. Choose an empty folder, or a new one.",
      hint: expect.any(String),
    });
    await expect(
      elmwood.call("storage.moveModels", { path: join(elsewhere, "notes.txt") }),
    ).rejects.toMatchObject({
      code: "BAD_INPUT",
    });
    await expect(
      elmwood.call("storage.moveModels", { path: join(home, "models", "sub") }),
    ).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("inside the current models folder"),
    });
    await expect(elmwood.call("storage.moveModels", { path: "relative/folder" })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: "'relative/folder' is not a full path.",
    });
    expect((await elmwood.call("storage.inspect", { path: home })).state).toBe("current");
  });

  it.skipIf(process.platform !== "linux")("says so when the folder cannot be written", async () => {
    const { home } = await profile();
    const elmwood = service(home);
    // /proc takes no new folders, not even from root.
    const { end } = await move(elmwood, "/proc/elmwood-models-test");
    expect(end).toMatchObject({
      type: "failed",
      error: { code: "BAD_INPUT", message: expect.stringMatching(/cannot write/) },
    });
    expect((await elmwood.call("models.list", {})).models).toHaveLength(1);
  });

  it("will not move while a reply is being written, and nothing uses the models during a move", async () => {
    const { home, elsewhere } = await profile();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const elmwood = service(home, {
      storeMove: { checkpoint: async (step) => (step === "staged" ? held : undefined) },
    });
    await elmwood.call("models.load", { name: MODEL, provider: "cpu", threads: 1 });
    const { sampling } = await elmwood.call("settings.get", {});
    // Listening first: the reply may end (at an end-of-text token) before it is stopped.
    const replied = Promise.race([nextEvent(elmwood, "chat.done"), nextEvent(elmwood, "chat.error")]);
    const started = await elmwood.call("chat.send", {
      content: "Hello",
      settings: { sampling: { ...sampling, maxTokens: 1500 } },
    });
    await expect(elmwood.call("storage.moveModels", { path: elsewhere })).rejects.toMatchObject({
      code: "BUSY",
      message: expect.stringMatching(/cannot move while/),
    });
    await elmwood.call("chat.stop", { requestId: started.requestId });
    await replied;

    const ended = nextEvent(elmwood, "storage.progress", (e) => e.event.type !== "progress");
    await elmwood.call("storage.moveModels", { path: elsewhere });
    try {
      // Held just before the switch: every call that needs the models is refused meanwhile.
      await expect(elmwood.call("chat.send", { content: "Hi again" })).rejects.toMatchObject({
        code: "BUSY",
      });
      await expect(elmwood.call("models.load", {})).rejects.toMatchObject({ code: "BUSY" });
      expect((await elmwood.call("storage.get", {})).moving).toMatchObject({ to: elsewhere });
      // The models page still shows the models being moved.
      expect((await elmwood.call("models.list", {})).models.map((m) => m.name)).toEqual([MODEL]);
    } finally {
      release();
    }
    expect((await ended).event.type).toBe("done");
    expect((await elmwood.call("storage.get", {})).moving).toBeNull();
  });

  it("switches to a store already in a folder, leaving the old one where it was", async () => {
    const first = await profile();
    const second = await profile();
    const elmwood = service(first.home);
    await expect(elmwood.call("storage.moveModels", { path: second.home })).rejects.toMatchObject({
      code: "BAD_INPUT",
      hint: expect.stringMatching(/use the models there/),
    });
    expect((await elmwood.call("storage.inspect", { path: second.home })).state).toBe("store");
    const { end } = await move(elmwood, second.home, "use-existing");
    expect(end).toMatchObject({ type: "done", method: "pointer", leftBehind: first.home });
    expect((await elmwood.call("storage.get", {})).modelsFolder).toBe(second.home);
    expect(await entries(join(first.home, "models"))).toContain(MODEL);
  });
});

describe("a crash during a move", () => {
  it("half-way through a copy: the next start deletes the partial copy and keeps the old store", async () => {
    const { home, elsewhere } = await profile();
    const before = await storeFiles(home);
    await crashAt(home, elsewhere, "copied-file", join(elsewhere, ".."));
    // The crash left a journal and a partial copy in a staging folder.
    expect(await present(join(home, MOVE_JOURNAL))).toBe(true);
    expect((await entries(elsewhere)).some((name) => name.startsWith(".elmwood-moving-"))).toBe(true);

    const restarted = service(home);
    expect((await restarted.call("storage.get", {})).modelsFolder).toBe(home);
    expect(await storeFiles(home)).toEqual(before);
    expect(await present(elsewhere)).toBe(false);
    expect(await present(join(home, MOVE_JOURNAL))).toBe(false);
    expect((await restarted.call("models.list", {})).models.map((m) => m.name)).toEqual([MODEL]);
  });

  it("is left alone by another Elmwood starting while the move is still running", async () => {
    const { home, elsewhere } = await profile();
    const before = await storeFiles(home);
    const mover = await holdAt(home, elsewhere, "copied-file", join(elsewhere, ".."));
    const second = service(home);
    expect((await second.call("storage.get", {})).problem).toMatchObject({
      code: "BUSY",
      message: expect.stringContaining(`is moving the models folder to ${elsewhere}`),
    });
    await expect(
      second.call("storage.moveModels", { path: join(elsewhere, "..", "other") }),
    ).rejects.toMatchObject({
      code: "BUSY",
    });
    // Its partial copy and journal are still there for it.
    expect(await present(join(home, MOVE_JOURNAL))).toBe(true);
    await second.close();

    await kill(mover);
    const third = service(home);
    expect((await third.call("storage.get", {})).problem).toBeNull();
    expect(await storeFiles(home)).toEqual(before);
    expect(await present(elsewhere)).toBe(false);
  });

  it("between renames on the same disk: the next start puts the renamed folder back", async () => {
    const { home, elsewhere } = await profile();
    const before = await storeFiles(home);
    await crashAt(home, elsewhere, "renamed-part");
    expect(await entries(home)).not.toContain("models");

    const restarted = service(home);
    expect((await restarted.call("storage.get", {})).modelsFolder).toBe(home);
    expect(await storeFiles(home)).toEqual(before);
    expect(await present(elsewhere)).toBe(false);
  });

  it("after the copy was verified: the next start finishes the move instead", async () => {
    const { home, elsewhere } = await profile();
    const before = await storeFiles(home);
    await crashAt(home, elsewhere, "staged", join(elsewhere, ".."));

    const restarted = service(home);
    expect((await restarted.call("storage.get", {})).modelsFolder).toBe(elsewhere);
    expect(await storeFiles(elsewhere)).toEqual(before);
    expect(await storeFiles(home)).toEqual({});
    expect(await entries(elsewhere)).toEqual(["downloads", "models"]);
    expect((await restarted.call("models.list", {})).models[0]?.source.path).toBe(
      join(elsewhere, "downloads", ...REPO_DIR),
    );
  });

  it("after the switch, before the old copy was deleted: the next start deletes it", async () => {
    const { home, elsewhere } = await profile();
    await crashAt(home, elsewhere, "switched", join(elsewhere, ".."));
    expect(await storeFiles(home)).not.toEqual({});

    const restarted = service(home);
    expect((await restarted.call("storage.get", {})).modelsFolder).toBe(elsewhere);
    expect(await storeFiles(home)).toEqual({});
    expect(await present(join(home, MOVE_JOURNAL))).toBe(false);
    expect((await restarted.call("models.list", {})).models).toHaveLength(1);
  });
});
