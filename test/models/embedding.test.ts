/**
 * The embedding model comes from the hub like the OpenELM models: the fake hub serves a random BERT
 * in the hub's layout under the catalog's repository id, and the library downloads only the files it
 * needs, verifies them, checks that the model embeds, and installs it; a pause keeps the download,
 * a corrupted file is refused, and `elmwood models pull` does the same from the command line.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OnnxEmbedder } from "../../engine/documents/embedding/embedder.ts";
import { elmwoodPaths } from "../../engine/paths.ts";
import { defaultEmbeddingEntry } from "../../models/embedding-catalog.ts";
import { HubClient } from "../../models/hub-client.ts";
import { ModelLibrary } from "../../models/library.ts";
import type { LibraryProgress } from "../../models/progress.ts";
import { referenceEmbedding } from "../support/bert-reference.ts";
import { FakeHub } from "../support/fake-hub.ts";
import { randomBertFiles, TINY_BERT } from "../support/random-bert.ts";

const entry = defaultEmbeddingEntry();
const BERT = { ...TINY_BERT, seed: 8 };
const files = randomBertFiles(BERT);
const run = promisify(execFile);

let root: string;
let home: string;
let hub: FakeHub;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-embedding-pull-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));
beforeEach(async () => {
  hub = await FakeHub.start([{ id: entry.repoId, files }]);
  home = await mkdtemp(join(root, "home-"));
});
afterEach(async () => {
  await hub.close();
});

function library(): ModelLibrary {
  return new ModelLibrary({
    paths: elmwoodPaths(home),
    hub: new HubClient({ endpoint: hub.url, retry: { retries: 1, backoffMs: 5, maxBackoffMs: 10 } }),
    freeSpace: async () => 1e12,
    progressIntervalMs: 0,
  });
}

describe("pulling the embedding model", () => {
  it("downloads only what it needs, verifies it, and installs a model that embeds like the reference", async () => {
    const events: LibraryProgress[] = [];
    const result = await library().pullEmbedding(entry.slug, { onProgress: (e) => events.push(e) });
    expect(result).toMatchObject({
      installed: true,
      model: { name: entry.slug, repoId: entry.repoId, dims: 32, pooling: "mean", normalize: true },
    });
    const fetched = hub.requests.filter((r) => r.status === 200 || r.status === 206).map((r) => r.path);
    expect(fetched.some((p) => p.endsWith("README.md") || p.endsWith("vocab.txt"))).toBe(false);
    expect(
      events.filter((e) => e.type === "verified").map((e) => e.type === "verified" && e.check),
    ).toContain("sha256");
    expect(events.at(-1)).toMatchObject({ type: "done", name: entry.slug });
    const installed = await library().embeddings();
    expect(installed.models.map((m) => m.name)).toEqual([entry.slug]);
    expect(installed.models[0].files.map((f) => f.path)).toContain("onnx/model.onnx");
    // The download was moved into the store, not kept twice.
    await expect(stat(join(home, "downloads", ...entry.repoId.split("/")))).rejects.toMatchObject({
      code: "ENOENT",
    });
    const embedder = await OnnxEmbedder.load(result.model.dir);
    try {
      const [vector] = await embedder.embed(["The invoice is due."]);
      const reference = referenceEmbedding("The invoice is due.", BERT);
      expect(Math.max(...vector.map((v, i) => Math.abs(v - reference[i])))).toBeLessThan(1e-5);
    } finally {
      await embedder.close();
    }
    // OpenELM listings do not mistake it for a language model.
    expect((await library().list()).models).toEqual([]);
  });

  it("answers at once when it is installed already", async () => {
    await library().pullEmbedding(entry.repoId);
    const before = hub.requests.length;
    const again = await library().pullEmbedding(entry.slug);
    expect(again.installed).toBe(false);
    expect(hub.requests.length).toBe(before);
  });

  it("keeps what arrived when paused, and the next pull resumes it", async () => {
    hub.fault(`${entry.repoId}/onnx/model.onnx`, { kind: "stall", afterBytes: 4096 });
    const lib = library();
    const pulling = lib.pullEmbedding(entry.slug, {
      onProgress: (e) => {
        if (e.type === "download" && e.file === "onnx/model.onnx" && e.fileBytes > 0) lib.pause(entry.repoId);
      },
    });
    await expect(pulling).rejects.toMatchObject({ code: "CANCELLED" });
    const downloads = await lib.listDownloads();
    expect(downloads).toEqual([expect.objectContaining({ repoId: entry.repoId, complete: false })]);
    expect(downloads[0].presentBytes).toBeGreaterThan(0);
    const resumed = await library().pullEmbedding(entry.slug);
    expect(resumed.installed).toBe(true);
    const ranged = hub.fileRequests(entry.repoId, "onnx/model.onnx").filter((r) => r.range);
    expect(ranged.length).toBeGreaterThan(0);
  });

  it("refuses a file that does not match the hub's hash, and installs nothing", async () => {
    hub.corrupt(entry.repoId, "onnx/model.onnx", 100);
    await expect(library().pullEmbedding(entry.slug)).rejects.toMatchObject({
      code: "NETWORK",
      message: expect.stringContaining("failed verification"),
    });
    expect((await library().embeddings()).models).toEqual([]);
  });

  it("says what is missing when the repository has no ONNX export", async () => {
    const { "onnx/model.onnx": _gone, ...rest } = files;
    hub.setRepo({ id: entry.repoId, files: rest });
    await expect(library().pullEmbedding(entry.slug)).rejects.toMatchObject({
      code: "CHECKPOINT",
      message: expect.stringContaining("onnx/model.onnx"),
    });
  });

  it("elmwood models pull installs it, models list shows it and models rm removes it", async () => {
    const env = { ...process.env, ELMWOOD_HOME: home, HF_ENDPOINT: hub.url, HF_TOKEN: "" };
    const elmwood = (...args: string[]) =>
      run(process.execPath, [resolve("bin/elmwood.js"), ...args], { env });
    const pulled = await elmwood("models", "pull", entry.slug, "--json");
    expect(JSON.parse(pulled.stdout.trim().split("\n").at(-1) as string)).toMatchObject({
      name: entry.slug,
      installed: true,
      dims: 32,
    });
    const listed = JSON.parse(
      (await elmwood("models", "list", "--json")).stdout.trim().split("\n").at(-1) as string,
    );
    expect(listed.embedding.map((m: { name: string }) => m.name)).toEqual([entry.slug]);
    const catalog = JSON.parse(
      (await elmwood("models", "catalog", "--json")).stdout.trim().split("\n").at(-1) as string,
    );
    expect(catalog.embedding[0]).toMatchObject({ repoId: entry.repoId, licence: "Apache-2.0", dims: 384 });
    await elmwood("models", "rm", entry.slug);
    expect(
      await readdir(join(home, "models")).then((names) => names.filter((n) => !n.startsWith("."))),
    ).toEqual([]);
  });
});
