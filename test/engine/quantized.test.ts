import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CPU_MODEL_FILE, MANIFEST_FILE, MODEL_FILE } from "../../engine/openelm/manifest.ts";
import { ModelSession } from "../../engine/runtime/model-session.ts";
import {
  argmaxOf,
  cosine,
  dequantizedReference,
  type EngineFixture,
  makeEngineFixture,
  PROMPT,
  relativeError,
} from "../support/engine-fixtures.ts";
import type { ReferenceModel } from "../support/reference.ts";

/**
 * Bounds measured on this random checkpoint (CPU, accuracy level 4, which quantizes activations to
 * int8), over 12 teacher-forced steps: against the float64 run on the dequantized weights, int8 worst
 * cosine 0.99916 / relative error 4.7e-2 (a scale per row, the int8 GEMM for qkv_proj and proj_1;
 * with the GEMM for all four layers 0.99820 / 6.2e-2) and int4 0.99887 / 5.3e-2; against the original
 * float weights, int8 0.9988 and int4 0.869. The bounds leave room for other CPUs' kernels. Random
 * checkpoints amplify weight noise, so the last figure says nothing about trained OpenELM quality.
 */
const BOUNDS = {
  int8: { cosine: 0.998, relative: 0.08, originalCosine: 0.995 },
  int4: { cosine: 0.998, relative: 0.08, originalCosine: 0.75 },
} as const;

let fx: EngineFixture;
beforeAll(async () => {
  fx = await makeEngineFixture(["int8", "int4"]);
});
afterAll(async () => fx?.cleanup());

/** Teacher-forced steps along the reference's own greedy path; worst agreement over them. */
async function compare(model: string, reference: ReferenceModel) {
  const session = await ModelSession.load(model, { provider: "cpu", threads: 2 });
  try {
    const sequence = [...PROMPT];
    let worstCosine = 1;
    let worstRelative = 0;
    let worstOriginal = 1;
    let clearTopOneMisses = 0;
    for (let step = 0; step < 12; step++) {
      const { logits } = await session.logitsFor(sequence);
      const expected = reference.forward(sequence).at(-1) as Float64Array;
      const original = fx.reference.forward(sequence).at(-1) as Float64Array;
      worstCosine = Math.min(worstCosine, cosine(logits, expected));
      worstRelative = Math.max(worstRelative, relativeError(logits, expected));
      worstOriginal = Math.min(worstOriginal, cosine(logits, original));
      const sorted = Array.from(expected).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] > 0.5 && argmaxOf(logits) !== argmaxOf(expected)) clearTopOneMisses++;
      sequence.push(argmaxOf(expected));
    }
    return { worstCosine, worstRelative, worstOriginal, clearTopOneMisses };
  } finally {
    await session.close();
  }
}

describe.each([
  ["int8", 8],
  ["int4", 4],
] as const)("%s model", (precision, bits) => {
  it("agrees with the float64 reference on its dequantized weights within the stated bounds", async () => {
    const result = await compare(fx.models[precision], await dequantizedReference(fx.checkpoint, bits));
    expect(result.worstCosine).toBeGreaterThan(BOUNDS[precision].cosine);
    expect(result.worstRelative).toBeLessThan(BOUNDS[precision].relative);
    expect(result.worstOriginal).toBeGreaterThan(BOUNDS[precision].originalCosine);
    // Where the reference's choice is clear, the quantized model makes the same one.
    expect(result.clearTopOneMisses).toBe(0);
  });

  it("keeps one quantized embedding that serves both the lookup and the tied head", async () => {
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(await readFile(join(fx.models[precision], MODEL_FILE)));
    const nodes = model.graph?.node ?? [];
    const lookup = nodes.find((n) => n.opType === "GatherBlockQuantized");
    const headNode = nodes.find((n) => n.name === "/lm_head/MatMulNBits");
    expect(lookup?.input?.[0]).toBe("transformer.token_embeddings.weight");
    expect(headNode?.input?.[1]).toBe(lookup?.input?.[0]);
    const embeddings = (model.graph?.initializer ?? []).filter(
      (t) => t.name === "transformer.token_embeddings.weight",
    );
    expect(embeddings).toHaveLength(1);
    // Every node is named after its place, so the graph explains itself in a viewer.
    expect(nodes.every((n) => n.name?.startsWith("/"))).toBe(true);
    expect(nodes.some((n) => n.name === "/model/layers.3/attn/qkv_proj/MatMulNBits")).toBe(true);
  });
});

describe("int8 on the CPU", () => {
  const { onnx } = onnxProto;
  const graph = async (dir: string, file: string) =>
    onnx.ModelProto.decode(await readFile(join(dir, file))).graph ?? { node: [], initializer: [] };
  const opsOf = (g: Awaited<ReturnType<typeof graph>>) =>
    (g.node ?? []).filter((n) => n.name?.startsWith("/model/layers.")).map((n) => n.opType ?? "");

  it("runs the layers with normed inputs through the int8 GEMM, while the GPU graph keeps MatMulNBits", async () => {
    const cpu = await graph(fx.models.int8, CPU_MODEL_FILE);
    const gpu = await graph(fx.models.int8, MODEL_FILE);
    const layers = fx.reference.config.numLayers;
    const gemms = (cpu.node ?? []).filter((n) => n.opType === "DynamicQuantizeMatMul").map((n) => n.name);
    expect(gemms).toHaveLength(2 * layers);
    expect(gemms.every((name) => /\/(qkv_proj|proj_1)\/DynamicQuantizeMatMul$/.test(name ?? ""))).toBe(true);
    expect(opsOf(cpu).filter((op) => op === "MatMulNBits")).toHaveLength(2 * layers); // out_proj, proj_2
    expect(opsOf(gpu).filter((op) => op === "MatMulNBits")).toHaveLength(4 * layers);
    expect(opsOf(gpu)).not.toContain("DynamicQuantizeMatMul");
    // Each graph holds only the layout it reads: signed [K, N] codes for the GEMM.
    const qkv = (cpu.initializer ?? []).find(
      (t) => t.name === "transformer.layers.0.attn.qkv_proj.weight.gemm",
    );
    const { modelDim, headDim, layers: shapes } = fx.reference.config;
    expect(qkv?.dataType).toBe(onnx.TensorProto.DataType.INT8);
    expect(qkv?.dims?.map(Number)).toEqual([
      modelDim,
      (shapes[0].queryHeads + 2 * shapes[0].kvHeads) * headDim,
    ]);
    expect((gpu.initializer ?? []).some((t) => t.name?.endsWith(".gemm"))).toBe(false);
    const manifest = JSON.parse(await readFile(join(fx.models.int8, MANIFEST_FILE), "utf8"));
    expect(manifest.quantization).toMatchObject({ bits: 8, scales: "row" });
  });

  it("an int8 model converted before its CPU graph existed runs its MatMulNBits weights there", async () => {
    const old = join(fx.root, "int8-before-cpu-graph");
    await cp(fx.models.int8, old, { recursive: true });
    await rm(join(old, CPU_MODEL_FILE));
    const manifestFile = join(old, MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(manifestFile, "utf8"));
    manifest.files = manifest.files.filter((f: { path: string }) => f.path !== CPU_MODEL_FILE);
    await writeFile(manifestFile, JSON.stringify(manifest));
    const session = await ModelSession.load(old, { provider: "cpu", threads: 2 });
    try {
      expect(session.attention).toBe("standard");
    } finally {
      await session.close();
    }
    const result = await compare(old, await dequantizedReference(fx.checkpoint, 8));
    expect(result.worstCosine).toBeGreaterThan(BOUNDS.int8.cosine);
    expect(result.worstRelative).toBeLessThan(BOUNDS.int8.relative);
    expect(result.clearTopOneMisses).toBe(0);
  });
});
