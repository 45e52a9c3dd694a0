/**
 * A converted model holds two graphs over one weights file (engine/openelm/graph.ts): standard
 * attention over a view of the cache for the CPU, GroupQueryAttention for GPU providers. The CPU runs
 * its own graph, and models converted before it existed get one built in memory from their model.onnx.
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
    const a = externalData(cpu);
    const b = externalData(gpu);
    expect([...a.files]).toEqual([DATA_FILE]);
    expect([...b.files]).toEqual([DATA_FILE]);
    expect(a.where.size).toBeGreaterThan(0);
    expect(a.where).toEqual(b.where);
  });

  it("the CPU runs the standard-attention graph", async () => {
    const session = await ModelSession.load(fx.models.fp32, { provider: "cpu", threads: 2 });
    try {
      expect(session.attention).toBe("standard");
      const { logits } = await session.logitsFor(PROMPT);
      expect(relativeError(logits, fx.reference.forward(PROMPT).at(-1) as Float64Array)).toBeLessThan(1e-4);
    } finally {
      await session.close();
    }
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

describe("the CPU cache's views", () => {
  /** A stand-in session that records what the cache binds and zeroes. */
  function recordingSession() {
    const zeroed: string[] = [];
    const bound = new Map<string, readonly number[]>();
    const tensor = (name: string, shape: readonly number[]) =>
      ({
        shape,
        type: "float32",
        bytes: shape.reduce((a, b) => a * b, 4),
        zero: (from: number, to: number) => zeroed.push(`${name}:${from}-${to}`),
      }) as unknown as NativeTensor;
    const session = {
      inputTensor: (name: string, _type: string, shape: readonly number[]) => tensor(name, shape),
      hostView: (base: NativeTensor, shape: readonly number[]) => tensor(`view of ${base.shape}`, shape),
      bindInput: (name: string, t: NativeTensor) => bound.set(name, t.shape),
      bindOutput: (name: string, t: NativeTensor) => bound.set(name, t.shape),
      releaseTensor: () => {},
    } as unknown as NativeSession;
    return { session, zeroed, bound };
  }
  const config = {
    maxContextLength: 4 * VIEW_STEP,
    headDim: 8,
    layers: [{ kvHeads: 2 }, { kvHeads: 3 }],
  } as unknown as ConstructorParameters<typeof KvCache>[1];

  it("bind the valid rows rounded up to a step, and zero rows the first time a view covers them", () => {
    const { session, zeroed, bound } = recordingSession();
    const cache = new KvCache(session, config, "standard");
    expect(bound.size).toBe(0); // nothing is bound before the first run says how long
    cache.prepare(10);
    expect(bound.get("past_key_values.1.key")).toEqual([1, VIEW_STEP, 24]);
    expect(bound.get("present.1.value")).toEqual([1, VIEW_STEP, 24]);
    const row0 = 16 * 4; // layer 0: 2 heads x 8 floats
    expect(zeroed).toContain(`past_key_values.0.key:0-${VIEW_STEP * row0}`);
    expect(zeroed).toHaveLength(4); // key and value of both layers

    zeroed.length = 0;
    cache.prepare(VIEW_STEP + 1);
    expect(bound.get("past_key_values.0.value")).toEqual([1, 2 * VIEW_STEP, 16]);
    expect(zeroed).toContain(`past_key_values.0.value:${VIEW_STEP * row0}-${2 * VIEW_STEP * row0}`);

    zeroed.length = 0;
    cache.prepare(3); // a rewind: a shorter view, and rows already zeroed stay as they are
    expect(bound.get("past_key_values.0.key")).toEqual([1, VIEW_STEP, 16]);
    cache.prepare(2 * VIEW_STEP);
    expect(zeroed).toEqual([]);
    cache.prepare(100 * VIEW_STEP); // never past the window
    expect(bound.get("past_key_values.0.key")).toEqual([1, 4 * VIEW_STEP, 16]);
  });
});
