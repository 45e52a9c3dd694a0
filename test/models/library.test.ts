import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { convertCheckpoint } from "../../engine/openelm/convert.ts";
import { elmwoodPaths } from "../../engine/paths.ts";
import { HubClient } from "../../models/hub-client.ts";
import { ModelLibrary } from "../../models/library.ts";
import type { LibraryProgress } from "../../models/progress.ts";
import { resolveModel, resolveModelDir } from "../../models/store.ts";
import { FakeHub } from "../support/fake-hub.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../support/random-checkpoint.ts";

const REPO = "test/OpenELM-Tiny";
const NAME = "openelm-tiny-int4";
// A small vocabulary keeps the checkpoint at a few MB; every other shape feature stays on.
const TINY = { ...SMALL_OPENELM, vocabSize: 1024 };

let root: string;
let checkpointDir: string;
let repoFiles: Record<string, Uint8Array>;
let hub: FakeHub;
let home: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-library-"));
  checkpointDir = join(root, "OpenELM-Tiny");
  await writeRandomCheckpoint(checkpointDir, TINY);
  repoFiles = {};
  for (const file of await readdir(checkpointDir))
    repoFiles[file] = await readFile(join(checkpointDir, file));
  repoFiles["modeling_openelm.py"] = new TextEncoder().encode("# not needed\n");
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  hub = await FakeHub.start([{ id: REPO, files: repoFiles }]);
  home = await mkdtemp(join(root, "home-"));
});

afterEach(async () => {
  await hub.close();
  await rm(home, { recursive: true, force: true });
});

function library(options: { retries?: number; lockPollMs?: number } = {}): ModelLibrary {
  return new ModelLibrary({
    paths: elmwoodPaths(home),
    hub: new HubClient({
      endpoint: hub.url,
      retry: { retries: options.retries ?? 2, backoffMs: 5, maxBackoffMs: 10 },
    }),
    freeSpace: async () => 1e12,
    lockPollMs: options.lockPollMs ?? 20,
    progressIntervalMs: 0,
  });
}

async function caught(promise: Promise<unknown>): Promise<ElmwoodError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ElmwoodError);
  return error as ElmwoodError;
}

const weightRequests = () => hub.fileRequests(REPO, "model.safetensors");

describe("ModelLibrary.pull", () => {
  it("downloads, verifies and converts a model into the store, and makes the first one the default", async () => {
    const events: LibraryProgress[] = [];
    const result = await library().pull(REPO, { onProgress: (e) => events.push(e) });

    expect(result).toMatchObject({
      converted: true,
      model: { name: NAME, precision: "int4", isDefault: true },
    });
    expect(result.keptSource?.dir).toBe(join(home, "downloads", "test", "OpenELM-Tiny"));
    const model = await library().inspect(NAME);
    expect(model.source).toMatchObject({ repoId: REPO, managed: true, present: true });
    // The two graphs (GPU providers', the CPU's) and the weights they share, each with its digest.
    expect(model.files.map((f) => f.path)).toEqual(["model.onnx", "model-cpu-2.onnx", "model.onnx.data"]);
    for (const file of model.files) expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(model.bytes).toBe(model.files.reduce((sum, f) => sum + f.bytes, 0));
    const kinds = [...new Set(events.map((e) => e.type))];
    expect(kinds).toEqual(["resolve", "plan", "download", "verified", "validate", "convert", "done"]);
    expect(hub.requests.some((r) => r.path.endsWith(".py"))).toBe(false);
  });

  it("returns an installed model at once, without downloading again", async () => {
    await library().pull(REPO);
    const before = hub.requests.length;
    const again = await library().pull(REPO);
    expect(again.converted).toBe(false);
    expect(hub.requests.length).toBe(before);
  });

  it("lets a second process wait for the first pulling the same model, then reuse its result", async () => {
    const waits: LibraryProgress[] = [];
    const [a, b] = await Promise.all([
      library().pull(REPO),
      library().pull(REPO, { onProgress: (e) => e.type === "wait" && waits.push(e) }),
    ]);
    expect([a.converted, b.converted].sort()).toEqual([false, true]);
    expect(weightRequests()).toHaveLength(1);
    expect((await library().list()).models.map((m) => m.name)).toEqual([NAME]);
  });

  it("pauses a pull keeping its partial download, and the next pull resumes it", async () => {
    hub.fault(`${REPO}/model.safetensors`, { kind: "stall", afterBytes: 100_000 });
    const lib = library();
    const paused = lib.pull(REPO, {
      onProgress: (e) => e.type === "download" && e.file === "model.safetensors" && lib.pause(REPO),
    });
    expect((await caught(paused)).code).toBe("CANCELLED");
    expect((await lib.listDownloads())[0]).toMatchObject({
      repoId: REPO,
      complete: false,
      presentBytes: expect.any(Number),
    });
    expect((await lib.list()).models).toEqual([]);

    await library().pull(REPO);
    expect(weightRequests().at(-1)?.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect((await library().inspect(NAME)).precision).toBe("int4");
  });

  it("installs nothing when a downloaded file fails verification", async () => {
    hub.corrupt(REPO, "model.safetensors", 4_000);
    const error = await caught(library().pull(REPO));
    expect(error.message).toContain("model.safetensors");
    expect(error.message).toContain("failed verification");
    expect(await library().list()).toEqual({ models: [], broken: [] });
    expect(
      await readdir(join(home, "models")).then((names) => names.filter((n) => !n.startsWith("."))),
    ).toEqual([]);
  });

  it("converts a kept checkpoint to another precision without the network", async () => {
    await library().pull(REPO);
    await hub.close();
    const result = await library().pull(REPO, { precision: "int8" });
    expect(result.model).toMatchObject({ name: "openelm-tiny-int8", precision: "int8" });
    hub = await FakeHub.start();
  });

  it("rejects an unknown precision and a repo id that is not owner/name", async () => {
    expect((await caught(library().pull(REPO, { precision: "int3" as "int4" }))).code).toBe("BAD_INPUT");
    expect((await caught(library().pull("not a repo"))).code).toBe("BAD_INPUT");
  });
});

describe("ModelLibrary store operations", () => {
  it("removes the source checkpoint on request and keeps the model usable", async () => {
    await library().pull(REPO);
    const removed = await library().removeSource(NAME);
    expect(removed.removed).toBe(true);
    expect(removed.bytes).toBeGreaterThan(0);
    await expect(stat(removed.dir)).rejects.toThrow();
    expect((await library().inspect(NAME)).source.present).toBe(false);
    expect(await resolveModelDir(NAME, elmwoodPaths(home))).toBe(join(home, "models", NAME));
  });

  it("removes a model with its orphaned download and forgets it as the default", async () => {
    const lib = library();
    const { model } = await lib.pull(REPO);
    const result = await lib.remove(NAME);
    expect(result.removedSource?.dir).toBe(model.source.path);
    expect(await lib.list()).toEqual({ models: [], broken: [] });
    expect(await lib.getDefault()).toBeUndefined();
    expect((await caught(lib.inspect(NAME))).code).toBe("NOT_FOUND");
  });

  it("records a chosen default and refuses one that is not installed", async () => {
    const lib = library();
    await lib.pull(REPO);
    await lib.pull(REPO, { precision: "int8" });
    await lib.setDefault("openelm-tiny-int8");
    expect(await lib.getDefault()).toBe("openelm-tiny-int8");
    const error = await caught(lib.setDefault("nope"));
    expect(error.code).toBe("NOT_FOUND");
    expect(error.hint).toContain("openelm-tiny-int4, openelm-tiny-int8");
  });

  it("lists a model whose files were damaged as broken, with the reason", async () => {
    const lib = library();
    const { model } = await lib.pull(REPO);
    await writeFile(join(model.dir, "model.onnx.data"), "truncated");
    const listing = await lib.list();
    expect(listing.models).toEqual([]);
    expect(listing.broken[0]).toMatchObject({
      name: NAME,
      problem: expect.stringContaining("model.onnx.data"),
    });
  });
});

describe("ModelLibrary.importFolder", () => {
  it("converts a Hugging Face checkpoint folder at the chosen precision, leaving the folder alone", async () => {
    const before = await readdir(checkpointDir);
    const result = await library().importFolder(checkpointDir, { precision: "int8" });
    expect(result).toMatchObject({
      kind: "checkpoint",
      model: { name: "openelm-tiny-int8", precision: "int8" },
    });
    expect(result.model.source).toMatchObject({ path: checkpointDir, managed: false });
    expect(await readdir(checkpointDir)).toEqual(before);
    expect((await caught(library().removeSource("openelm-tiny-int8"))).code).toBe("BAD_INPUT");
  });

  it("copies an already converted Elmwood model into the store", async () => {
    const converted = join(home, "elsewhere", "my-model");
    await mkdir(join(home, "elsewhere"));
    await convertCheckpoint(checkpointDir, converted, { precision: "int4" });
    const result = await library().importFolder(converted);
    expect(result).toMatchObject({ kind: "elmwood", model: { name: "my-model", precision: "int4" } });
    expect(await resolveModelDir("my-model", elmwoodPaths(home))).toBe(join(home, "models", "my-model"));
  });

  it("says exactly what is wrong with a folder it cannot use", async () => {
    const empty = join(home, "empty");
    await mkdir(join(empty, "inner"), { recursive: true });
    await writeFile(join(empty, "inner", "config.json"), "{}");
    const neither = await caught(library().importFolder(empty));
    expect(neither.code).toBe("CHECKPOINT");
    expect(neither.message).toContain("neither a Hugging Face checkpoint");
    expect(neither.hint).toBe(`Did you mean ${join(empty, "inner")}?`);

    const noWeights = await caught(library().importFolder(join(empty, "inner")));
    expect(noWeights.message).toContain("has config.json but no .safetensors weights");

    const missing = await caught(library().importFolder(join(home, "nowhere")));
    expect(missing.code).toBe("NOT_FOUND");
  });

  it("reports a malformed checkpoint with the converter's reason and installs nothing", async () => {
    const bad = join(home, "bad-checkpoint");
    await mkdir(bad);
    await writeFile(join(bad, "config.json"), await readFile(join(checkpointDir, "config.json")));
    await writeFile(join(bad, "model.safetensors"), "not safetensors");
    const error = await caught(library().importFolder(bad));
    expect(error.code).toBe("CHECKPOINT");
    expect((await library().list()).models).toEqual([]);
  });
});

describe("resolveModel", () => {
  it("accepts a store name, a unique name prefix, a repo id and a model folder", async () => {
    const paths = elmwoodPaths(home);
    await library().pull(REPO);
    const dir = join(home, "models", NAME);
    const installed = { dir, name: NAME };
    expect(await resolveModel(NAME, paths)).toEqual(installed);
    expect(await resolveModel("openelm-tiny", paths)).toEqual(installed);
    expect(await resolveModel(REPO, paths)).toEqual(installed);
    expect(await resolveModel("", paths)).toEqual(installed);
    // A store folder given by its path is that installed model; a folder elsewhere has no name.
    expect(await resolveModel(dir, paths)).toEqual(installed);
    const outside = join(home, "elsewhere");
    await convertCheckpoint(checkpointDir, outside, { precision: "int4" });
    expect(await resolveModel(outside, paths)).toEqual({ dir: outside });
    expect(await resolveModelDir(outside, paths)).toBe(outside);
  });

  it("says what it accepts and names the installed models when nothing matches", async () => {
    const paths = elmwoodPaths(home);
    const none = await caught(resolveModel("openelm-9b", paths));
    expect(none.code).toBe("NOT_FOUND");
    expect(none.hint).toContain("an installed model's name");
    expect(none.hint).toContain("the path of a converted model folder");
    expect(none.hint).toContain("No models are installed yet");

    await library().pull(REPO);
    const unknown = await caught(resolveModel("openelm-9b", paths));
    expect(unknown.message).toBe(
      "No installed model is named 'openelm-9b', and there is no folder of that name.",
    );
    expect(unknown.hint).toMatch(/an installed model's name .* or the path of a converted model folder/);
    expect(unknown.hint).toContain(`Installed: ${NAME}.`);
    const path = await caught(resolveModel("./no/such/folder", paths));
    expect(path.message).toBe(
      `There is no model folder at ${join(process.cwd(), "no", "such", "folder")}, and no installed model is named './no/such/folder'.`,
    );
    expect(path.hint).toContain(`Installed: ${NAME}.`);

    const raw = await caught(resolveModel(checkpointDir, paths));
    expect(raw.message).toContain("has not been converted");
    expect(raw.hint).toContain("elmwood models import");
  });
});

describe("ModelLibrary.attach", () => {
  let folder: string;
  beforeEach(async () => {
    folder = join(home, "My Tiny Model");
    await convertCheckpoint(checkpointDir, folder, { precision: "int4" });
  });

  it("makes a folder outside the store usable by a name made from the folder's, without copying it", async () => {
    const lib = library();
    const attached = await lib.attach(folder);
    expect(attached).toMatchObject({
      name: "my-tiny-model",
      dir: folder,
      precision: "int4",
      isDefault: true,
    });
    expect(await lib.inspect("my-tiny-model")).toMatchObject({ name: "my-tiny-model", dir: folder });
    expect((await lib.list()).models.map((m) => [m.name, m.dir])).toEqual([["my-tiny-model", folder]]);
    expect(await lib.getDefault()).toBe("my-tiny-model");
    expect((await lib.attach(folder)).name).toBe("my-tiny-model");
    // Nothing was written to the store, and another library (another process) does not see it.
    expect(await readdir(join(home, "models")).catch(() => [])).toEqual([]);
    expect((await library().list()).models).toEqual([]);
  });

  it("picks another name when an installed model has it, and leaves the installed default alone", async () => {
    const lib = library();
    await lib.pull(REPO);
    const copy = join(home, NAME);
    await convertCheckpoint(checkpointDir, copy, { precision: "int4" });
    expect((await lib.attach(copy)).name).toBe(`${NAME}-2`);
    const { models } = await lib.list();
    expect(models.map((m) => [m.name, m.dir, m.isDefault])).toEqual([
      [NAME, join(home, "models", NAME), true],
      [`${NAME}-2`, copy, false],
    ]);
    expect(await lib.getDefault()).toBe(NAME);
    // The store's own folder, given by path, is the installed model rather than a second name for it.
    expect((await lib.attach(join(home, "models", NAME))).name).toBe(NAME);
  });

  it("never removes, replaces or makes default the user's folder", async () => {
    const lib = library();
    const { name } = await lib.attach(folder);
    const files = (await readdir(folder)).sort();
    for (const attempt of [
      () => lib.remove(name),
      () => lib.removeSource(name),
      () => lib.setDefault(name),
      () => lib.importFolder(checkpointDir, { name }),
    ]) {
      const error = await caught(attempt());
      expect(error.code).toBe("BAD_INPUT");
      expect(error.message).toContain(folder);
      expect(error.hint).toContain(`elmwood models import ${folder}`);
    }
    expect((await readdir(folder)).sort()).toEqual(files);
    expect(await lib.inspect(name)).toMatchObject({ dir: folder, isDefault: true });
    expect(await readdir(join(home, "models")).catch(() => [])).toEqual([]);
  });

  it("refuses a folder that is not a converted model", async () => {
    const lib = library();
    const error = await caught(lib.attach(checkpointDir));
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain("no manifest.json");
    expect((await lib.list()).models).toEqual([]);
  });
});

describe("ModelStore.sweepLeftovers", () => {
  it("removes work folders of dead processes and keeps those of live ones", async () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const models = join(home, "models");
    const deadPartial = `.openelm-tiny-int4.partial-${dead}-12345678`;
    const deadRemoval = `.removing-old-model-${dead}-abcdef01`;
    const livePartial = `.openelm-tiny-int8.partial-${process.pid}-12345678`;
    for (const name of [deadPartial, deadRemoval, livePartial])
      await mkdir(join(models, name), { recursive: true });
    const swept = await library().store.sweepLeftovers();
    expect(swept.sort()).toEqual([deadPartial, deadRemoval].sort());
    expect(await readdir(models)).toEqual([livePartial]);
  });
});
