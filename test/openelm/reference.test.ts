import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LayerShape, OpenElmConfig } from "../../engine/openelm/config.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../support/random-checkpoint.ts";
import { ReferenceModel } from "../support/reference.ts";

/** A hand-sized config: eps 0 so normalized values are exact. */
function tinyConfig(modelDim: number, headDim: number, vocabSize: number, layer: LayerShape): OpenElmConfig {
  return {
    numLayers: 1,
    modelDim,
    headDim,
    vocabSize,
    numGqaGroups: layer.queryHeads / layer.kvHeads,
    maxContextLength: 64,
    ropeFreqConstant: 10000,
    ropeMaxLength: 128,
    normEps: 0,
    bosTokenId: 1,
    eosTokenId: 2,
    layers: [layer],
  };
}

/** Seeded values in [-1, 1), for weights whose exact values a test does not care about. */
function noise(length: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  return Float64Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/** Weights for a one-layer model: norms of ones, everything else zero unless overridden. */
function weightsFor(config: OpenElmConfig, overrides: Record<string, number[] | Float64Array>) {
  const d = config.modelDim;
  const h = config.headDim;
  const { queryHeads: q, kvHeads: kv, ffnDim: f } = config.layers[0];
  const ones = (n: number) => new Float64Array(n).fill(1);
  const weights = new Map<string, Float64Array>([
    ["transformer.token_embeddings.weight", new Float64Array(config.vocabSize * d)],
    ["transformer.layers.0.attn_norm.weight", ones(d)],
    ["transformer.layers.0.attn.qkv_proj.weight", new Float64Array((q + 2 * kv) * h * d)],
    ["transformer.layers.0.attn.q_norm.weight", ones(h)],
    ["transformer.layers.0.attn.k_norm.weight", ones(h)],
    ["transformer.layers.0.attn.out_proj.weight", new Float64Array(d * q * h)],
    ["transformer.layers.0.ffn_norm.weight", ones(d)],
    ["transformer.layers.0.ffn.proj_1.weight", new Float64Array(2 * f * d)],
    ["transformer.layers.0.ffn.proj_2.weight", new Float64Array(d * f)],
    ["transformer.norm.weight", ones(d)],
  ]);
  for (const [name, values] of Object.entries(overrides)) {
    const target = weights.get(name);
    if (!target || target.length !== values.length) throw new Error(`bad override ${name}`);
    target.set(values);
  }
  return weights;
}

const rms = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
const normalize = (v: number[]) => v.map((x) => x / rms(v));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

function expectClose(actual: ArrayLike<number>, expected: number[], digits = 12): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, i) => {
    expect(actual[i]).toBeCloseTo(value, digits);
  });
}

describe("reference forward pass by hand", () => {
  it("with both blocks off, logits are the final-normed embedding dotted with every embedding", () => {
    const config = tinyConfig(4, 2, 3, { queryHeads: 2, kvHeads: 1, ffnDim: 2 });
    const E = [
      [1, 2, 3, 4],
      [0, 1, 0, -1],
      [2, 0, 0, 0],
    ];
    const model = ReferenceModel.fromWeights(
      config,
      weightsFor(config, {
        "transformer.token_embeddings.weight": E.flat(),
        // Queries and keys must not be zero: eps is 0 here, and their RMSNorm would divide by zero.
        "transformer.layers.0.attn.qkv_proj.weight": noise(32, 9),
        "transformer.norm.weight": [1, 1, 2, 1],
      }),
    );
    const r = rms(E[0]);
    const final = [1 / r, 2 / r, 6 / r, 4 / r];
    expectClose(
      model.forward([0])[0],
      E.map((row) => dot(final, row)),
    );
  });

  it("attention over a single token returns its value rows, whatever the queries and keys", () => {
    const config = tinyConfig(4, 2, 3, { queryHeads: 2, kvHeads: 1, ffnDim: 2 });
    const E = [
      [1, 2, 3, 4],
      [-1, 0.5, 2, 0],
      [0, 0, 1, 1],
    ];
    // Rows: 4 query rows, 2 key rows, then value rows v = [xn0, 2 * xn3].
    const qkv = (qk: Float64Array) => [...qk, 1, 0, 0, 0, 0, 0, 0, 2];
    const build = (seed: number) =>
      ReferenceModel.fromWeights(
        config,
        weightsFor(config, {
          "transformer.token_embeddings.weight": E.flat(),
          "transformer.layers.0.attn.qkv_proj.weight": qkv(noise(24, seed)),
          "transformer.layers.0.attn.out_proj.weight": identity(4),
        }),
      );
    const xn = normalize(E[0]);
    const v = [xn[0], 2 * xn[3]];
    // Both query heads read the one KV head: [v, v] through an identity out_proj.
    const residual = E[0].map((x, i) => x + v[i % 2]);
    const final = normalize(residual);
    const expected = E.map((row) => dot(final, row));
    expectClose(build(1).forward([0])[0], expected);
    expectClose(build(2).forward([0])[0], expected);
  });

  it("query head j reads KV head floor(j / group)", () => {
    const config = tinyConfig(4, 2, 2, { queryHeads: 4, kvHeads: 2, ffnDim: 1 });
    const E = [
      [1, 2, 3, 4],
      [4, -3, 2, 1],
    ];
    // Value rows: KV head 0 = [xn0, xn1], KV head 1 = [-xn2, -xn3].
    const values = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1];
    // out_proj picks query head 1 into dims 0-1 and query head 2 into dims 2-3: [d, q * h] = [4, 8].
    const out = new Float64Array(32);
    out[0 * 8 + 2] = 1;
    out[1 * 8 + 3] = 1;
    out[2 * 8 + 4] = 1;
    out[3 * 8 + 5] = 1;
    const model = ReferenceModel.fromWeights(
      config,
      weightsFor(config, {
        "transformer.token_embeddings.weight": E.flat(),
        "transformer.layers.0.attn.qkv_proj.weight": [...noise(48, 3), ...values],
        "transformer.layers.0.attn.out_proj.weight": out,
      }),
    );
    const xn = normalize(E[1]);
    // Head 1 is in group 0 (KV head 0); head 2 in group 1 (KV head 1).
    const residual = [E[1][0] + xn[0], E[1][1] + xn[1], E[1][2] - xn[2], E[1][3] - xn[3]];
    expectClose(model.hidden([1]), normalize(residual));
  });

  it("two-token attention normalizes queries and keys per head, then rotates them by position", () => {
    // One head of size 4 over model width 4; base 4 so the second frequency is 4^(-2/4) = 1/2.
    const config = { ...tinyConfig(4, 4, 2, { queryHeads: 1, kvHeads: 1, ffnDim: 1 }), ropeFreqConstant: 4 };
    const E = [
      [0, 1, 0.2, 1], // token a
      [0.3, 1, 0, 0.5], // token b: both halves of each rotated pair are non-zero
    ];
    const kNorm = [1, 1, 1, 0.5];
    const model = ReferenceModel.fromWeights(
      config,
      weightsFor(config, {
        "transformer.token_embeddings.weight": E.flat(),
        "transformer.layers.0.attn.qkv_proj.weight": [...identity(4), ...identity(4), ...identity(4)],
        "transformer.layers.0.attn.k_norm.weight": kNorm,
        "transformer.layers.0.attn.out_proj.weight": identity(4),
      }),
    );
    const theta = 1 / 2; // position 1 times the second frequency
    const xnA = normalize(E[0]);
    const xnB = normalize(E[1]);
    // Rotate-half pairs dim j with dim j + 2: the pair (1, 3) turns by theta at position 1.
    const rotate = (v: number[]) => [
      v[0] * Math.cos(1) - v[2] * Math.sin(1),
      v[1] * Math.cos(theta) - v[3] * Math.sin(theta),
      v[2] * Math.cos(1) + v[0] * Math.sin(1),
      v[3] * Math.cos(theta) + v[1] * Math.sin(theta),
    ];
    const query = rotate(normalize(xnB));
    const key0 = normalize(xnA).map((x, i) => x * kNorm[i]); // position 0: no rotation
    const key1 = rotate(normalize(xnB).map((x, i) => x * kNorm[i]));
    const s0 = dot(query, key0) / 2;
    const s1 = dot(query, key1) / 2;
    const p0 = Math.exp(s0) / (Math.exp(s0) + Math.exp(s1));
    const attended = xnA.map((a, i) => p0 * a + (1 - p0) * xnB[i]);
    const residual = E[1].map((x, i) => x + attended[i]);

    const hidden = model.hidden([0, 1]);
    // Position 0 sees only itself: its value row.
    expectClose(hidden.subarray(0, 4), normalize(E[0].map((x, i) => x + xnA[i])));
    expectClose(hidden.subarray(4, 8), normalize(residual));
  });

  it("the feed-forward block gates with the first half of proj_1 and multiplies by the second", () => {
    const config = tinyConfig(2, 2, 1, { queryHeads: 1, kvHeads: 1, ffnDim: 1 });
    const model = ReferenceModel.fromWeights(
      config,
      weightsFor(config, {
        "transformer.token_embeddings.weight": [3, 4],
        "transformer.layers.0.attn.qkv_proj.weight": noise(12, 4),
        // out_proj stays zero: attention off.
        "transformer.layers.0.ffn.proj_1.weight": [1, 0, 0, 1], // gate row reads dim 0, up row dim 1
        "transformer.layers.0.ffn.proj_2.weight": [1, 0],
      }),
    );
    const [gate, up] = normalize([3, 4]);
    const silu = gate / (1 + Math.exp(-gate));
    expectClose(model.hidden([0]), normalize([3 + silu * up, 4]));
  });
});

describe("reference forward pass properties", () => {
  function randomModel(layer: LayerShape, seed: number, kvOverride?: (w: Map<string, Float64Array>) => void) {
    const config = { ...tinyConfig(16, 4, 11, layer), normEps: 1e-6 };
    const weights = weightsFor(config, {});
    let s = seed;
    for (const [name, values] of weights) {
      values.set(
        name.endsWith("norm.weight")
          ? noise(values.length, s++).map((x) => 1 + 0.2 * x)
          : noise(values.length, s++),
      );
    }
    kvOverride?.(weights);
    return { config, weights, model: ReferenceModel.fromWeights(config, weights) };
  }

  it("is causal: appending tokens leaves earlier positions' logits unchanged", () => {
    const { model } = randomModel({ queryHeads: 4, kvHeads: 2, ffnDim: 8 }, 10);
    const long = model.forward([3, 1, 4, 1, 5, 9]);
    const short = model.forward([3, 1, 4]);
    for (let t = 0; t < 3; t++) expectClose(long[t], Array.from(short[t]));
    expect(long[3]).not.toEqual(model.forward([3, 1, 4, 2])[3]);
  });

  it("grouped KV heads equal full attention with each KV head repeated for its group", () => {
    const grouped = randomModel({ queryHeads: 4, kvHeads: 2, ffnDim: 8 }, 20);
    const h = 4;
    const d = 16;
    const qkv = grouped.weights.get("transformer.layers.0.attn.qkv_proj.weight") as Float64Array;
    const rows = (head: number) => qkv.subarray(head * h * d, (head + 1) * h * d);
    // Query heads 0-3, then K heads 0-1, then V heads 0-1; expand K and V to [0, 0, 1, 1].
    const expanded = [0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 7, 7].flatMap((head) => Array.from(rows(head)));
    const full = randomModel({ queryHeads: 4, kvHeads: 4, ffnDim: 8 }, 20, (w) => {
      for (const [name, values] of grouped.weights) {
        if (!name.includes("qkv_proj")) w.get(name)?.set(values);
      }
      w.set("transformer.layers.0.attn.qkv_proj.weight", Float64Array.from(expanded));
    });
    const tokens = [7, 2, 9, 0, 5];
    const a = grouped.model.forward(tokens);
    const b = full.model.forward(tokens);
    for (let t = 0; t < tokens.length; t++) expectClose(a[t], Array.from(b[t]), 10);
  });

  it("rejects weights of the wrong size", () => {
    const config = tinyConfig(4, 2, 3, { queryHeads: 2, kvHeads: 1, ffnDim: 2 });
    const weights = weightsFor(config, {});
    weights.set("transformer.norm.weight", new Float64Array(3));
    expect(() => ReferenceModel.fromWeights(config, weights)).toThrow(/transformer\.norm\.weight/);
  });
});

describe("reference on the SMALL random checkpoint", () => {
  let dir: string;
  let model: ReferenceModel;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "elmwood-reference-"));
    await writeRandomCheckpoint(dir, { ...SMALL_OPENELM, seed: 1 });
    model = await ReferenceModel.load(dir);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("greedy text moves between tokens with clear margins", () => {
    const prompts = [[1], [1, 450, 4996, 29889], [1, 20, 300, 4000, 12345]];
    const margins: number[] = [];
    for (const prompt of prompts) {
      const result = model.greedy(prompt, 12);
      expect(result.tokens).toHaveLength(12);
      expect(new Set(result.tokens).size).toBeGreaterThanOrEqual(4);
      margins.push(...result.margins);
    }
    const clear = margins.filter((m) => m > 0.05).length;
    expect(clear / margins.length).toBeGreaterThanOrEqual(0.8);
  });

  it("greedy picks each step's top logit of a full forward pass", () => {
    const prompt = [1, 2000, 3000];
    const { tokens, margins } = model.greedy(prompt, 3);
    const logits = model.forward([...prompt, ...tokens.slice(0, 2)]);
    for (let step = 0; step < 3; step++) {
      const row = Array.from(logits[prompt.length - 1 + step]);
      const sorted = [...row].sort((a, b) => b - a);
      expect(row.indexOf(sorted[0])).toBe(tokens[step]);
      expect(margins[step]).toBeCloseTo(sorted[0] - sorted[1], 9);
    }
  });
});
