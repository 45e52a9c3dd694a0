/**
 * The embedding model as Elmwood runs it, checked against an independent reference: a random BERT
 * in the hub's sentence-transformers layout, tokenized by its tokenizer.json and run on
 * onnxruntime-node, must give the token ids of a separately written WordPiece tokenizer and the
 * pooled, normalized vectors of a float64 encoder written from the equations.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxEmbedder } from "../../engine/documents/embedding/embedder.ts";
import { readEmbeddingModel } from "../../engine/documents/embedding/model-files.ts";
import { WorkerEmbedder } from "../../engine/documents/embedding/worker-embedder.ts";
import { referenceEmbedding, referenceIds } from "../support/bert-reference.ts";
import { type RandomBertOptions, TINY_BERT, writeRandomBert } from "../support/random-bert.ts";
import { tempDir } from "./fixtures.ts";

const MEAN: RandomBertOptions = { ...TINY_BERT, seed: 21, extraWords: ["tectonic", "magma"] };
const CLS: RandomBertOptions = { ...TINY_BERT, seed: 22, pooling: "cls", normalize: false, maxSeqLength: 16 };

const TEXTS = [
  "The invoice is due on Friday.",
  "Garden roses bloom in spring!",
  "Tectonic plates meet where magma rises; unknownword here.",
  "Überraschung: café, naïve façade",
  "x",
  "",
];

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe("the embedding model", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let mean: OnnxEmbedder;
  let cls: OnnxEmbedder;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("elmwood-embed-"));
    await writeRandomBert(join(dir, "mean"), MEAN);
    await writeRandomBert(join(dir, "cls"), CLS);
    mean = await OnnxEmbedder.load(join(dir, "mean"));
    cls = await OnnxEmbedder.load(join(dir, "cls"));
  });
  afterAll(async () => {
    await mean?.close();
    await cls?.close();
    await cleanup();
  });

  it("reads how the model pools, normalizes and how long a text it reads from its files", async () => {
    const files = await readEmbeddingModel(join(dir, "mean"));
    expect(files).toMatchObject({
      onnx: "onnx/model.onnx",
      dims: 32,
      pooling: "mean",
      normalize: true,
      maxTokens: 256,
    });
    expect(await readEmbeddingModel(join(dir, "cls"))).toMatchObject({
      pooling: "cls",
      normalize: false,
      maxTokens: 16,
    });
  });

  it.each(TEXTS)("tokenizes %j exactly as an independent WordPiece tokenizer does", (text) => {
    expect(mean.encode(text).ids).toEqual(referenceIds(text, MEAN, 256));
  });

  it("cuts a text longer than the model reads, keeping its beginning and both markers", () => {
    const long = "garden ".repeat(40);
    const encoded = cls.encode(long);
    expect(encoded.ids).toHaveLength(16);
    expect(encoded.truncated).toBe(true);
    expect(encoded.ids).toEqual(referenceIds(long, CLS, 16));
  });

  it("gives the reference's mean-pooled, L2-normalized vectors, in one padded batch", async () => {
    const vectors = await mean.embed(TEXTS);
    for (const [i, text] of TEXTS.entries()) {
      expect(maxDifference(vectors[i], referenceEmbedding(text, MEAN))).toBeLessThan(1e-5);
      const norm = Math.hypot(...vectors[i]);
      expect(norm).toBeCloseTo(1, 5);
    }
  });

  it("gives the reference's [CLS] vectors, unnormalized when the model has no Normalize module", async () => {
    const vectors = await cls.embed(TEXTS);
    for (const [i, text] of TEXTS.entries()) {
      expect(maxDifference(vectors[i], referenceEmbedding(text, CLS, 16))).toBeLessThan(1e-5);
    }
    expect(Math.abs(Math.hypot(...vectors[0]) - 1)).toBeGreaterThan(1e-3);
  });

  it("gives a text the same vector alone as in a batch padded to a longer one", async () => {
    const [alone] = await mean.embed(["x"]);
    const [, inBatch] = await mean.embed([TEXTS[2], "x"]);
    expect(maxDifference(alone, inBatch)).toBeLessThan(1e-6);
  });

  it("embeds in a worker thread with the same results, and a cancelled batch ends at once", async () => {
    const worker = await WorkerEmbedder.start(join(dir, "mean"), { modelId: "test/mean@1" });
    try {
      expect(worker.dims).toBe(32);
      const [fromWorker] = await worker.embed([TEXTS[0]]);
      expect(maxDifference(fromWorker, referenceEmbedding(TEXTS[0], MEAN))).toBeLessThan(1e-5);
      const abort = new AbortController();
      const many = Array.from({ length: 2000 }, (_, i) => `${TEXTS[i % 4]} ${i}`);
      const pending = worker.embed(many, abort.signal);
      // The worker is warm, so by the next turn of the event loop the batch is in the worker.
      await new Promise(setImmediate);
      abort.abort();
      await expect(pending).rejects.toMatchObject({ code: "CANCELLED" });
      // The next batch starts a fresh worker.
      const [again] = await worker.embed([TEXTS[1]]);
      expect(maxDifference(again, referenceEmbedding(TEXTS[1], MEAN))).toBeLessThan(1e-5);
    } finally {
      await worker.close();
    }
  });

  it("refuses a folder without a tokenizer, saying what is missing and what to do", async () => {
    const broken = join(dir, "broken");
    await writeRandomBert(broken, MEAN);
    await rm(join(broken, "tokenizer.json"));
    await expect(OnnxEmbedder.load(broken)).rejects.toMatchObject({
      code: "MODEL",
      message: expect.stringContaining("tokenizer.json"),
      hint: expect.stringContaining("download it again"),
    });
  });

  it("refuses a graph that is not a model, without crashing", async () => {
    const broken = join(dir, "not-onnx");
    await writeRandomBert(broken, MEAN);
    await mkdir(join(broken, "onnx"), { recursive: true });
    await writeFile(join(broken, "onnx", "model.onnx"), "not a model");
    await expect(OnnxEmbedder.load(broken)).rejects.toMatchObject({ code: "MODEL" });
  });
});
