import { describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import {
  configToJson,
  countParameters,
  makeDivisible,
  numpyRound2,
  type OpenElmConfig,
  parseDerivedConfig,
  parseOpenElmConfig,
} from "../../engine/openelm/config.ts";

/** The four published shapes, with the per-layer lists their config.json files carry (from numpy). */
const PUBLISHED = {
  "270M": {
    layers: 16,
    modelDim: 1280,
    headDim: 64,
    parametersM: 271.5,
    queryHeads: [12, 12, 12, 12, 12, 16, 16, 16, 16, 16, 16, 16, 20, 20, 20, 20],
    ffnMultipliers: [
      0.5, 0.73, 0.97, 1.2, 1.43, 1.67, 1.9, 2.13, 2.37, 2.6, 2.83, 3.07, 3.3, 3.53, 3.77, 4.0,
    ],
  },
  "450M": {
    layers: 20,
    modelDim: 1536,
    headDim: 64,
    parametersM: 457.2,
    queryHeads: [12, 12, 12, 16, 16, 16, 16, 16, 16, 16, 20, 20, 20, 20, 20, 20, 24, 24, 24, 24],
    ffnMultipliers: [
      0.5, 0.68, 0.87, 1.05, 1.24, 1.42, 1.61, 1.79, 1.97, 2.16, 2.34, 2.53, 2.71, 2.89, 3.08, 3.26, 3.45,
      3.63, 3.82, 4.0,
    ],
  },
  "1_1B": {
    layers: 28,
    modelDim: 2048,
    headDim: 64,
    parametersM: 1079.9,
    queryHeads: [
      16, 16, 16, 20, 20, 20, 20, 20, 20, 20, 24, 24, 24, 24, 24, 24, 24, 24, 28, 28, 28, 28, 28, 28, 32, 32,
      32, 32,
    ],
    ffnMultipliers: [
      0.5, 0.63, 0.76, 0.89, 1.02, 1.15, 1.28, 1.41, 1.54, 1.67, 1.8, 1.93, 2.06, 2.19, 2.31, 2.44, 2.57, 2.7,
      2.83, 2.96, 3.09, 3.22, 3.35, 3.48, 3.61, 3.74, 3.87, 4.0,
    ],
  },
  "3B": {
    layers: 36,
    modelDim: 3072,
    headDim: 128,
    parametersM: 3036.6,
    queryHeads: [
      12, 12, 12, 12, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 20, 20, 20, 20, 20, 20, 20, 20,
      20, 20, 20, 20, 24, 24, 24, 24, 24, 24,
    ],
    ffnMultipliers: [
      0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5,
      2.6, 2.7, 2.8, 2.9, 3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0,
    ],
  },
} as const;

type Published = (typeof PUBLISHED)[keyof typeof PUBLISHED];

function rangeConfig(p: Published): Record<string, unknown> {
  return {
    model_type: "openelm",
    num_transformer_layers: p.layers,
    model_dim: p.modelDim,
    head_dim: p.headDim,
    num_gqa_groups: 4,
    vocab_size: 32000,
    max_context_length: 2048,
    rope_freq_constant: 10000,
    rope_max_length: 4096,
    ffn_dim_divisor: 256,
    ffn_multipliers: [0.5, 4.0],
    qkv_multipliers: [0.5, 1.0],
    share_input_output_layers: true,
    normalize_qk_projections: true,
    ffn_with_glu: true,
    activation_fn_name: "swish",
    normalization_layer_name: "rms_norm",
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

function listConfig(p: Published): Record<string, unknown> {
  return {
    ...rangeConfig(p),
    ffn_multipliers: [...p.ffnMultipliers],
    num_query_heads: [...p.queryHeads],
    num_kv_heads: p.queryHeads.map((q) => q / 4),
  };
}

function errorOf(fn: () => unknown): ElmwoodError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ElmwoodError) return error;
    throw error;
  }
  throw new Error("expected an ElmwoodError, but nothing was thrown");
}

describe("makeDivisible", () => {
  it("rounds to the nearest multiple of the divisor", () => {
    expect(makeDivisible(640, 256)).toBe(768);
    expect(makeDivisible(1000, 8)).toBe(1000);
    expect(makeDivisible(1003, 8)).toBe(1000);
    expect(makeDivisible(1005, 8)).toBe(1008);
  });

  it("never goes more than 10% below the value", () => {
    // 171.52 rounds down to 128, which is more than 10% below, so one divisor is added back.
    expect(makeDivisible(171.52, 128)).toBe(256);
  });

  it("never goes below the minimum, which defaults to the divisor", () => {
    expect(makeDivisible(10, 256)).toBe(256);
    expect(makeDivisible(10, 8, 64)).toBe(64);
  });
});

describe("numpyRound2", () => {
  it("rounds halves to even after scaling by 100, as numpy does", () => {
    expect(numpyRound2(0.125)).toBe(0.12);
    expect(numpyRound2(0.375)).toBe(0.38);
  });

  it("follows numpy where Python's float round would differ", () => {
    // The double nearest 0.215 sits just below it; Python's round gives 0.21, numpy's 0.22.
    expect(numpyRound2(0.215)).toBe(0.22);
    expect(numpyRound2(0.805)).toBe(0.8);
    // linspace(0.5, 1.0, 21)[1]: numpy gives 0.52 where Python's round gives 0.53.
    expect(numpyRound2(0.5 + 0.5 / 20)).toBe(0.52);
  });
});

describe("parseOpenElmConfig", () => {
  it("derives OpenELM-270M's layer-wise head counts and FFN widths from the [min, max] form", () => {
    const config = parseOpenElmConfig(rangeConfig(PUBLISHED["270M"]));
    expect(config.layers.map((l) => l.queryHeads)).toEqual([...PUBLISHED["270M"].queryHeads]);
    expect(config.layers.map((l) => l.kvHeads)).toEqual([3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5]);
    expect(config.layers.map((l) => l.ffnDim)).toEqual([
      768, 1024, 1280, 1536, 1792, 2048, 2560, 2816, 3072, 3328, 3584, 3840, 4352, 4608, 4864, 5120,
    ]);
  });

  for (const [name, published] of Object.entries(PUBLISHED)) {
    it(`gives OpenELM-${name} its published parameter count`, () => {
      const config = parseOpenElmConfig(rangeConfig(published));
      expect(config.layers).toHaveLength(published.layers);
      expect(config.layers.map((l) => l.queryHeads)).toEqual([...published.queryHeads]);
      expect(Math.round(countParameters(config) / 1e5) / 10).toBe(published.parametersM);
    });

    it(`reads OpenELM-${name}'s per-layer list form to the same shapes as the range form`, () => {
      expect(parseOpenElmConfig(listConfig(published))).toEqual(parseOpenElmConfig(rangeConfig(published)));
    });
  }

  it("takes the shared settings from the file", () => {
    const config = parseOpenElmConfig({
      ...rangeConfig(PUBLISHED["270M"]),
      vocab_size: 32001,
      max_context_length: 1024,
      rope_freq_constant: 500000,
      bos_token_id: 5,
      eos_token_id: 6,
    });
    expect(config).toMatchObject({
      numLayers: 16,
      modelDim: 1280,
      headDim: 64,
      numGqaGroups: 4,
      vocabSize: 32001,
      maxContextLength: 1024,
      ropeFreqConstant: 500000,
      ropeMaxLength: 4096,
      normEps: 1e-6,
      bosTokenId: 5,
      eosTokenId: 6,
    });
  });

  it("names a missing key", () => {
    const raw = rangeConfig(PUBLISHED["270M"]);
    delete raw.model_dim;
    const error = errorOf(() => parseOpenElmConfig(raw, "/m/config.json"));
    expect(error.code).toBe("CHECKPOINT");
    expect(error.message).toContain('"model_dim"');
    expect(error.message).toContain("/m/config.json");
    expect(error.hint).toBeTruthy();
  });

  it("names a key of the wrong type", () => {
    const error = errorOf(() => parseOpenElmConfig({ ...rangeConfig(PUBLISHED["270M"]), head_dim: "64" }));
    expect(error.message).toContain('"head_dim"');
  });

  it("rejects a model that is not OpenELM", () => {
    const error = errorOf(() =>
      parseOpenElmConfig({ ...rangeConfig(PUBLISHED["270M"]), model_type: "llama" }),
    );
    expect(error.code).toBe("CHECKPOINT");
    expect(error.message).toContain("model_type");
  });

  it("rejects an output layer that is not tied to the embeddings", () => {
    const error = errorOf(() =>
      parseOpenElmConfig({ ...rangeConfig(PUBLISHED["270M"]), share_input_output_layers: false }),
    );
    expect(error.message).toContain("share_input_output_layers");
  });

  it("rejects a head size that is not a multiple of 16", () => {
    const error = errorOf(() => parseOpenElmConfig({ ...rangeConfig(PUBLISHED["270M"]), head_dim: 40 }));
    expect(error.message).toContain('"head_dim"');
  });

  it("rejects per-layer lists of the wrong length", () => {
    const raw = listConfig(PUBLISHED["270M"]);
    const error = errorOf(() => parseOpenElmConfig({ ...raw, ffn_multipliers: [1, 2, 3] }));
    expect(error.message).toContain('"ffn_multipliers"');
    const heads = errorOf(() => parseOpenElmConfig({ ...raw, num_query_heads: [12, 12] }));
    expect(heads.message).toContain('"num_query_heads"');
  });

  it("rejects query heads that disagree with qkv_multipliers", () => {
    const raw = listConfig(PUBLISHED["270M"]);
    const queryHeads = [...PUBLISHED["270M"].queryHeads] as number[];
    queryHeads[3] = 16;
    const error = errorOf(() => parseOpenElmConfig({ ...raw, num_query_heads: queryHeads }));
    expect(error.message).toContain("layer 3");
  });

  it("rejects query heads that the KV heads cannot share evenly", () => {
    const raw = listConfig(PUBLISHED["270M"]);
    delete raw.qkv_multipliers;
    const queryHeads = [...PUBLISHED["270M"].queryHeads] as number[];
    queryHeads[0] = 13;
    const error = errorOf(() => parseOpenElmConfig({ ...raw, num_query_heads: queryHeads }));
    expect(error.message).toContain("layer 0");
  });

  it("rejects something that is not a JSON object", () => {
    expect(errorOf(() => parseOpenElmConfig([1, 2])).code).toBe("CHECKPOINT");
    expect(errorOf(() => parseOpenElmConfig(null)).code).toBe("CHECKPOINT");
  });
});

describe("configToJson", () => {
  it("round-trips through parseDerivedConfig", () => {
    const config: OpenElmConfig = parseOpenElmConfig(rangeConfig(PUBLISHED["450M"]));
    const json = JSON.parse(JSON.stringify(configToJson(config)));
    expect(parseDerivedConfig(json)).toEqual(config);
  });

  it("refuses a damaged derived config", () => {
    const json = configToJson(parseOpenElmConfig(rangeConfig(PUBLISHED["270M"])));
    const error = errorOf(() => parseDerivedConfig({ ...json, layers: [] }));
    expect(error.message).toContain("layers");
  });
});
