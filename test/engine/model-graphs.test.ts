/**
 * A converted model holds two graphs over one weights file (engine/openelm/graph.ts): standard
 * attention over a head-major view of the cache for the CPU, GroupQueryAttention for GPU providers. The
 * CPU runs its own graph, and models converted before it (or its current layout) existed get one built
 * in memory from their model.onnx.
 */
import { createHash } from "node:crypto";
import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CPU_MODEL_FILE, DATA_FILE, MANIFEST_FILE, MODEL_FILE } from "../../engine/openelm/manifest.ts";
import { KvCache, VIEW_STEP } from "../../engine/runtime/kv-cache.ts";
import { ModelSession } from "../../engine/runtime/model-session.ts";
import type { NativeSession, NativeTensor } from "../../engine/runtime/ort/native-session.ts";
import {
  argmaxOf,
  type EngineFixture,
  makeEngineFixture,
  PROMPT,
  relativeError,
} from "../support/engine-fixtures.ts";

const { onnx } = onnxProto;
let fx: EngineFixture;

beforeAll(async () => {
  fx = await makeEngineFixture(["fp32"]);
});
afterAll(async () => {
  await fx?.cleanup();
});

async function graphOf(file: string) {
  return onnx.ModelProto.decode(await readFile(join(fx.models.fp32, file)));
}

/** The folder's model loads on the CPU with the standard-attention graph and matches the reference. */
async function expectStandardOnCpu(dir: string) {
  const session = await ModelSession.load(dir, { provider: "cpu", threads: 2 });
  try {
    expect(session.attention).toBe("standard");
    const { logits } = await session.logitsFor(PROMPT);
    expect(relativeError(logits, fx.reference.forward(PROMPT).at(-1) as Float64Array)).toBeLessThan(1e-4);
  } finally {
    await session.close();
  }
}

/** name -> "offset:length" of every initializer stored in external data, and the files it names. */
function externalData(model: InstanceType<typeof onnx.ModelProto>) {
  const where = new Map<string, string>();
  const files = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    if (!t.externalData?.length) continue;
    const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
    files.add(entry("location") ?? "");
    where.set(t.name ?? "", `${entry("offset")}:${entry("length")}`);
  }
  return { where, files };
}

describe("the converted model's graphs", () => {
  it("are listed in the manifest and read the same weights from one file", async () => {
    const manifest = JSON.parse(await readFile(join(fx.models.fp32, MANIFEST_FILE), "utf8"));
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual(
      [CPU_MODEL_FILE, DATA_FILE, MODEL_FILE].sort(),
    );
    const cpu = await graphOf(CPU_MODEL_FILE);
    const gpu = await graphOf(MODEL_FILE);
    const ops = (m: typeof cpu) => new Set((m.graph?.node ?? []).map((n) => n.opType));
    expect([...ops(cpu)]).toEqual(expect.arrayContaining(["Attention", "TensorScatter", "RotaryEmbedding"]));
    expect(ops(cpu).has("GroupQueryAttention")).toBe(false);
    expect(ops(gpu).has("GroupQueryAttention")).toBe(true);
    expect(ops(gpu).has("Attention")).toBe(false);
    // On the CPU, q and k share one norm and one rotary per layer (the first norm is the input's).
    const count = (m: typeof cpu, op: string) => (m.graph?.node ?? []).filter((n) => n.opType === op).length;
    const layers = count(cpu, "Attention");
    expect(layers).toBeGreaterThan(1);
    expect(count(gpu, "GroupQueryAttention")).toBe(layers);
    expect(count(cpu, "RotaryEmbedding")).toBe(layers);
    expect(count(cpu, "SimplifiedLayerNormalization")).toBe(layers + 1);
    expect(count(gpu, "SimplifiedLayerNormalization")).toBe(2 * layers + 1);
    // Both caches are head-major: [1, kv heads, rows, head dim].
    const cacheDims = (m: typeof cpu) =>
      m.graph?.input
        ?.find((i) => i.name === "past_key_values.0.key")
        ?.type?.tensorType?.shape?.dim?.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
    const { kvHeads } = fx.reference.config.layers[0];
    const h = fx.reference.config.headDim;
    expect(cacheDims(cpu)).toEqual([1, kvHeads, "cache_length", h]);
    expect(cacheDims(gpu)).toEqual([1, kvHeads, "past_sequence_length", h]);
    const a = externalData(cpu);
    const b = externalData(gpu);
    expect([...a.files]).toEqual([DATA_FILE]);
    expect([...b.files]).toEqual([DATA_FILE]);
    expect(a.where.size).toBeGreaterThan(0);
    expect(a.where).toEqual(b.where);
  });

  it("the CPU runs the standard-attention graph", async () => {
    await expectStandardOnCpu(fx.models.fp32);
  });

  it("a model converted before the CPU graph existed gets one built from its model.onnx", async () => {
    // The format of before: no model-cpu.onnx, q_norm without attention's scale folded in, and
    // GroupQueryAttention applying it (its default scale). Nothing in the folder is written to.
    const old = join(fx.root, "fp32-before-cpu-graph");
    await cp(fx.models.fp32, old, { recursive: true });
    await rm(join(old, CPU_MODEL_FILE));
    const model = await graphOf(MODEL_FILE);
    const headDim = fx.reference.config.headDim;
    for (const node of model.graph?.node ?? []) {
      if (node.opType === "GroupQueryAttention")
        node.attribute = (node.attribute ?? []).filter((a) => a.name !== "scale");
    }
    for (const t of model.graph?.initializer ?? []) {
      if (!t.name?.endsWith("q_norm.weight") || !t.rawData) continue;
      const floats = new Float32Array(new Uint8Array(t.rawData).buffer);
      t.rawData = new Uint8Array(floats.map((x) => x * Math.sqrt(headDim)).buffer);
    }
    const bytes = onnx.ModelProto.encode(model).finish();
    await writeFile(join(old, MODEL_FILE), bytes);
    const manifestFile = join(old, MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(manifestFile, "utf8"));
    manifest.files = manifest.files
      .filter((f: { path: string }) => f.path !== CPU_MODEL_FILE)
      .map((f: { path: string }) =>
        f.path === MODEL_FILE
          ? { ...f, bytes: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex") }
          : f,
      );
    await writeFile(manifestFile, JSON.stringify(manifest));
    const before = await readdir(old);

    const session = await ModelSession.load(old, { provider: "cpu", threads: 2 });
    try {
      expect(session.attention).toBe("standard");
      const sequence = [...PROMPT];
      for (let step = 0; step < 4; step++) {
        const { logits } = await session.logitsFor(sequence);
        const expected = fx.reference.forward(sequence).at(-1) as Float64Array;
        expect(relativeError(logits, expected)).toBeLessThan(1e-4);
        sequence.push(argmaxOf(expected));
      }
    } finally {
      await session.close();
    }
    expect(await readdir(old)).toEqual(before);
  });
});

describe("a model with the first CPU graph's file", () => {
  it("ignores it and builds its CPU graph from model.onnx", async () => {
    // The first CPU graph, model-cpu.onnx, bound a cache of another layout; such a folder's CPU graph
    // comes from its model.onnx. Here that file holds no graph at all, so loading it would fail.
    const old = join(fx.root, "fp32-first-cpu-layout");
    await cp(fx.models.fp32, old, { recursive: true });
    await rm(join(old, CPU_MODEL_FILE));
    const stale = new TextEncoder().encode("the first CPU graph (not loaded)");
    await writeFile(join(old, "model-cpu.onnx"), stale);
    const manifestFile = join(old, MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(manifestFile, "utf8"));
    manifest.files = manifest.files.map((f: { path: string }) =>
      f.path === CPU_MODEL_FILE
        ? {
            path: "model-cpu.onnx",
            bytes: stale.byteLength,
            sha256: createHash("sha256").update(stale).digest("hex"),
          }
        : f,
    );
    await writeFile(manifestFile, JSON.stringify(manifest));
    const before = (await readdir(old)).sort();

    await expectStandardOnCpu(old);
    expect((await readdir(old)).sort()).toEqual(before);
  });
});

describe("the CPU cache's views", () => {
  /**
   * A stand-in session whose tensors are JavaScript arrays (filled with NaN, as uninitialized memory
   * may be) and which records what the cache binds.
   */
  function recordingSession() {
    const bound = new Map<string, readonly number[]>();
    const memory = new Map<string, Float32Array>();
    const tensor = (shape: readonly number[], data: Float32Array) =>
      ({
        shape,
        type: "float32",
        bytes: data.byteLength,
        move: (from: number, to: number, bytes: number) =>
          data.copyWithin(to / 4, from / 4, (from + bytes) / 4),
        zero: (from: number, to: number) => data.fill(0, from / 4, to / 4),
        data,
      }) as unknown as NativeTensor;
    const session = {
      inputTensor: (name: string, _type: string, shape: readonly number[]) => {
        const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(Number.NaN);
        memory.set(name, data);
        return tensor(shape, data);
      },
      hostView: (base: NativeTensor, shape: readonly number[]) =>
        tensor(shape, (base as unknown as { data: Float32Array }).data),
      bindInput: (name: string, t: NativeTensor) => bound.set(name, t.shape),
      bindOutput: (name: string, t: NativeTensor) => bound.set(name, t.shape),
      releaseTensor: () => {},
    } as unknown as NativeSession;
    return { session, bound, memory };
  }
  const h = 8;
  const config = {
    maxContextLength: 4 * VIEW_STEP,
    headDim: h,
    layers: [{ kvHeads: 2 }, { kvHeads: 3 }],
  } as unknown as ConstructorParameters<typeof KvCache>[1];
  /** What the graph would have written at row r of head j, element c. */
  const written = (j: number, r: number, c: number) => 1000 * j + r + c / 8; // exact in float32

  it("bind the valid rows rounded up to a step, each head's rows together", () => {
    const { session, bound } = recordingSession();
    const cache = new KvCache(session, config, "standard");
    expect(bound.size).toBe(0); // nothing is bound before the first run says how long
    cache.prepare(10);
    expect(bound.get("past_key_values.1.key")).toEqual([1, 3, VIEW_STEP, h]);
    expect(bound.get("present.1.value")).toEqual([1, 3, VIEW_STEP, h]);
    cache.prepare(VIEW_STEP + 1);
    expect(bound.get("past_key_values.0.value")).toEqual([1, 2, 2 * VIEW_STEP, h]);
    cache.prepare(3); // a rewind: a shorter view
    expect(bound.get("past_key_values.0.key")).toEqual([1, 2, VIEW_STEP, h]);
    cache.prepare(100 * VIEW_STEP); // never past the window
    expect(bound.get("past_key_values.0.key")).toEqual([1, 2, 4 * VIEW_STEP, h]);
  });

  it("move every head's rows to their place when the view grows or shrinks, and zero the rows it gains", () => {
    const { session, memory } = recordingSession();
    const cache = new KvCache(session, config, "standard");
    const heads = 3;
    const data = memory.get("past_key_values.1.value") as Float32Array;
    const at = (rows: number, j: number, r: number, c: number) => data[(j * rows + r) * h + c];
    const valid = 40;
    cache.prepare(valid);
    for (let j = 0; j < heads; j++)
      for (let r = 0; r < valid; r++)
        for (let c = 0; c < h; c++) data[(j * VIEW_STEP + r) * h + c] = written(j, r, c);

    const expectLayout = (rows: number) => {
      for (let j = 0; j < heads; j++)
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < h; c++) expect(at(rows, j, r, c)).toBe(r < valid ? written(j, r, c) : 0);
    };
    expectLayout(VIEW_STEP);
    cache.prepare(3 * VIEW_STEP - 5); // grows by two steps at once, as a prompt chunk does
    expectLayout(3 * VIEW_STEP);
    cache.prepare(valid); // a rewind to the valid rows
    expectLayout(VIEW_STEP);
    cache.prepare(4 * VIEW_STEP);
    expectLayout(4 * VIEW_STEP);
  });
});
