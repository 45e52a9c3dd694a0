/**
 * OpenELM's configuration: read a Hugging Face config.json and derive the per-layer shapes exactly as
 * Apple's configuration code does (layer-wise scaling via numpy's linspace and round, and make_divisible),
 * so the shapes we expect always match the tensors a published checkpoint carries.
 */
import { ElmwoodError } from "../errors.ts";

export interface LayerShape {
  queryHeads: number;
  kvHeads: number;
  ffnDim: number;
}

export interface OpenElmConfig {
  numLayers: number;
  modelDim: number;
  headDim: number;
  vocabSize: number;
  numGqaGroups: number;
  maxContextLength: number;
  ropeFreqConstant: number;
  ropeMaxLength: number;
  normEps: number;
  bosTokenId: number;
  eosTokenId: number;
  layers: LayerShape[];
}

/** OpenELM's RMSNorm default; config.json has no key for it. */
const NORM_EPS = 1e-6;
/** The runtime's fused attention kernels need head sizes in multiples of 16. */
const HEAD_DIM_MULTIPLE = 16;

/** OpenELM's make_divisible: round to the nearest multiple, never more than 10% below v. */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const min = minValue ?? divisor;
  // int() truncates toward zero, then Python's // floors.
  const truncated = Math.trunc(v + divisor / 2);
  let newV = Math.max(min, Math.floor(truncated / divisor) * divisor);
  if (newV < 0.9 * v) newV += divisor;
  return newV;
}

/**
 * round(v, 2) as Apple's config code runs it: v comes out of np.linspace, so this is numpy's round
 * (scale by 100, round half to even, divide back), not Python's correctly rounded float round.
 * The two differ: numpy gives 0.22 for the double nearest 0.215, Python 0.21.
 */
export function numpyRound2(x: number): number {
  const scaled = x * 100;
  let r = Math.round(scaled);
  if (r - scaled === 0.5 && r % 2 !== 0) r -= 1;
  return r / 100;
}

/** numpy.linspace(start, stop, num) with endpoint=True, in the same floating-point steps. */
export function numpyLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const values: number[] = [];
  for (let i = 0; i < num; i++)
    values.push(step === 0 ? (i / (num - 1)) * (stop - start) + start : i * step + start);
  values[num - 1] = stop;
  return values;
}

function fail(source: string, message: string, hint?: string): never {
  throw new ElmwoodError(
    "CHECKPOINT",
    `${source}: ${message}`,
    hint ?? "Use the config.json that came with the OpenELM checkpoint (apple/OpenELM-*).",
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  // JSON objects can shadow toString; describe them by their JSON rather than trusting String().
  if (typeof value === "object") return `an object ${JSON.stringify(value).slice(0, 60)}`;
  return `${typeof value} ${String(value)}`;
}

class ConfigReader {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly source: string,
  ) {}

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  missing(key: string): never {
    return fail(this.source, `is missing the key "${key}".`);
  }

  positiveInt(key: string): number {
    if (!this.has(key)) this.missing(key);
    const value = this.raw[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      fail(this.source, `"${key}" must be a positive integer, not ${describe(value)}.`);
    }
    return value;
  }

  nonNegativeInt(key: string): number {
    if (!this.has(key)) this.missing(key);
    const value = this.raw[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      fail(this.source, `"${key}" must be a non-negative integer, not ${describe(value)}.`);
    }
    return value;
  }

  positiveNumber(key: string): number {
    if (!this.has(key)) this.missing(key);
    const value = this.raw[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      fail(this.source, `"${key}" must be a positive number, not ${describe(value)}.`);
    }
    return value;
  }

  requireTrue(key: string, why: string): void {
    if (!this.has(key)) this.missing(key);
    const value = this.raw[key];
    if (typeof value !== "boolean")
      fail(this.source, `"${key}" must be true or false, not ${describe(value)}.`);
    if (!value)
      fail(
        this.source,
        `"${key}" is false, but ${why}`,
        "Only OpenELM checkpoints as Apple published them are supported.",
      );
  }

  optionalString(key: string, expected: string): void {
    if (!this.has(key)) return;
    const value = this.raw[key];
    if (value !== expected) {
      fail(
        this.source,
        `"${key}" is ${describe(value)}; Elmwood supports only "${expected}".`,
        "Only OpenELM checkpoints as Apple published them are supported.",
      );
    }
  }

  /** A number, a [min, max] pair, or (when perLayer) a list with one number per layer. */
  multipliers(key: string, numLayers: number, perLayer: boolean): number[] {
    if (!this.has(key)) this.missing(key);
    const value = this.raw[key];
    if (typeof value === "number") {
      if (!Number.isFinite(value) || value <= 0)
        fail(this.source, `"${key}" must be positive, not ${value}.`);
      return new Array(numLayers).fill(value);
    }
    if (!Array.isArray(value) || value.some((v) => typeof v !== "number" || !Number.isFinite(v) || v <= 0)) {
      fail(
        this.source,
        `"${key}" must be a positive number or a list of positive numbers, not ${describe(value)}.`,
      );
    }
    const numbers = value as number[];
    if (numbers.length === 2) {
      return numpyLinspace(numbers[0], numbers[1], numLayers).map(numpyRound2);
    }
    if (perLayer && numbers.length === numLayers) return [...numbers];
    const allowed = perLayer ? `2 ([min, max]) or ${numLayers} (one per layer)` : "2 ([min, max])";
    return fail(this.source, `"${key}" has ${numbers.length} entries; expected ${allowed}.`);
  }

  optionalIntList(key: string, numLayers: number): number[] | undefined {
    if (!this.has(key)) return undefined;
    const value = this.raw[key];
    if (
      !Array.isArray(value) ||
      value.some((v) => typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0)
    ) {
      fail(this.source, `"${key}" must be a list of positive integers, not ${describe(value)}.`);
    }
    if (value.length !== numLayers) {
      fail(this.source, `"${key}" has ${value.length} entries, but num_transformer_layers is ${numLayers}.`);
    }
    return value as number[];
  }
}

/** Reads a Hugging Face OpenELM config.json (already JSON-parsed) into the shapes the engine builds. */
export function parseOpenElmConfig(json: unknown, source = "config.json"): OpenElmConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(source, `must be a JSON object, not ${describe(json)}.`);
  }
  const read = new ConfigReader(json as Record<string, unknown>, source);
  if (!read.has("model_type")) read.missing("model_type");
  if (read.raw.model_type !== "openelm") {
    fail(
      source,
      `"model_type" is ${describe(read.raw.model_type)}, not "openelm".`,
      "Elmwood runs OpenELM models only; pick an apple/OpenELM-* checkpoint.",
    );
  }

  const numLayers = read.positiveInt("num_transformer_layers");
  const modelDim = read.positiveInt("model_dim");
  const headDim = read.positiveInt("head_dim");
  const numGqaGroups = read.positiveInt("num_gqa_groups");
  const vocabSize = read.positiveInt("vocab_size");
  const maxContextLength = read.positiveInt("max_context_length");
  const ropeFreqConstant = read.positiveNumber("rope_freq_constant");
  const ropeMaxLength = read.positiveInt("rope_max_length");
  const ffnDimDivisor = read.positiveInt("ffn_dim_divisor");
  const bosTokenId = read.nonNegativeInt("bos_token_id");
  const eosTokenId = read.nonNegativeInt("eos_token_id");
  read.requireTrue(
    "share_input_output_layers",
    "Elmwood expects the output layer tied to the token embeddings.",
  );
  read.requireTrue(
    "normalize_qk_projections",
    "Elmwood expects queries and keys normalized after projection.",
  );
  read.requireTrue("ffn_with_glu", "Elmwood expects gated (GLU) feed-forward layers.");
  read.optionalString("activation_fn_name", "swish");
  read.optionalString("normalization_layer_name", "rms_norm");

  if (headDim % HEAD_DIM_MULTIPLE !== 0) {
    fail(
      source,
      `"head_dim" is ${headDim}; Elmwood's attention kernels need a multiple of ${HEAD_DIM_MULTIPLE}.`,
    );
  }
  if (bosTokenId >= vocabSize || eosTokenId >= vocabSize) {
    fail(
      source,
      `"bos_token_id"/"eos_token_id" (${bosTokenId}/${eosTokenId}) must be below vocab_size ${vocabSize}.`,
    );
  }

  const listedQueryHeads = read.optionalIntList("num_query_heads", numLayers);
  const listedKvHeads = read.optionalIntList("num_kv_heads", numLayers);
  const queryHeads = deriveQueryHeads(read, numLayers, modelDim, headDim, numGqaGroups, listedQueryHeads);
  const kvHeads = queryHeads.map((q) => Math.floor(q / numGqaGroups));

  if (listedKvHeads) {
    const i = listedKvHeads.findIndex((kv, layer) => kv !== kvHeads[layer]);
    if (i >= 0) {
      fail(
        source,
        `"num_kv_heads" says layer ${i} has ${listedKvHeads[i]} KV heads, but ${queryHeads[i]} query heads in ${numGqaGroups} groups give ${kvHeads[i]}.`,
      );
    }
  }
  for (let i = 0; i < numLayers; i++) {
    if (kvHeads[i] === 0 || queryHeads[i] % kvHeads[i] !== 0) {
      fail(
        source,
        `layer ${i} has ${queryHeads[i]} query heads, which ${numGqaGroups} GQA groups ("num_gqa_groups") cannot share evenly.`,
      );
    }
  }

  const ffnMultipliers = read.multipliers("ffn_multipliers", numLayers, true);
  const ffnDims = ffnMultipliers.map((m) => Math.trunc(makeDivisible(m * modelDim, ffnDimDivisor)));

  return {
    numLayers,
    modelDim,
    headDim,
    vocabSize,
    numGqaGroups,
    maxContextLength,
    ropeFreqConstant,
    ropeMaxLength,
    normEps: NORM_EPS,
    bosTokenId,
    eosTokenId,
    layers: queryHeads.map((q, i) => ({ queryHeads: q, kvHeads: kvHeads[i], ffnDim: ffnDims[i] })),
  };
}

/**
 * Apple's code always recomputes the query heads from qkv_multipliers and ignores a stored
 * num_query_heads list; we do the same, and refuse a list that disagrees rather than guess.
 */
function deriveQueryHeads(
  read: ConfigReader,
  numLayers: number,
  modelDim: number,
  headDim: number,
  numGqaGroups: number,
  listed: number[] | undefined,
): number[] {
  if (!read.has("qkv_multipliers")) {
    if (listed) return listed;
    return read.missing("qkv_multipliers");
  }
  const multipliers = read.multipliers("qkv_multipliers", numLayers, false);
  const derived = multipliers.map(
    (m) => Math.trunc(makeDivisible(modelDim * m, headDim * numGqaGroups)) / headDim,
  );
  if (listed) {
    const i = listed.findIndex((q, layer) => q !== derived[layer]);
    if (i >= 0) {
      fail(
        read.source,
        `"num_query_heads" says layer ${i} has ${listed[i]} query heads, but "qkv_multipliers" gives ${derived[i]}.`,
      );
    }
  }
  return derived;
}

/** The derived configuration as plain JSON, for model manifests (read back with parseDerivedConfig). */
export function configToJson(config: OpenElmConfig): Record<string, unknown> {
  return {
    numLayers: config.numLayers,
    modelDim: config.modelDim,
    headDim: config.headDim,
    vocabSize: config.vocabSize,
    numGqaGroups: config.numGqaGroups,
    maxContextLength: config.maxContextLength,
    ropeFreqConstant: config.ropeFreqConstant,
    ropeMaxLength: config.ropeMaxLength,
    normEps: config.normEps,
    bosTokenId: config.bosTokenId,
    eosTokenId: config.eosTokenId,
    layers: config.layers.map((l) => ({ queryHeads: l.queryHeads, kvHeads: l.kvHeads, ffnDim: l.ffnDim })),
  };
}

/** Reads configToJson's output back (from a manifest), checking every field. */
export function parseDerivedConfig(json: unknown, source = "manifest"): OpenElmConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(source, `the model config must be a JSON object, not ${describe(json)}.`);
  }
  const raw = json as Record<string, unknown>;
  const bad = (key: string): never =>
    fail(source, `the model config's "${key}" is missing or invalid.`, "Convert the model again.");
  const int = (key: string, min = 1): number => {
    const v = raw[key];
    return typeof v === "number" && Number.isSafeInteger(v) && v >= min ? v : bad(key);
  };
  const positive = (key: string): number => {
    const v = raw[key];
    return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : bad(key);
  };
  const numLayers = int("numLayers");
  const layers = raw.layers;
  if (!Array.isArray(layers) || layers.length !== numLayers) bad("layers");
  const parsedLayers = (layers as unknown[]).map((layer): LayerShape => {
    const l = (typeof layer === "object" && layer !== null ? layer : {}) as Record<string, unknown>;
    const field = (key: string): number => {
      const v = l[key];
      return typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : bad(`layers.${key}`);
    };
    const shape = { queryHeads: field("queryHeads"), kvHeads: field("kvHeads"), ffnDim: field("ffnDim") };
    if (shape.queryHeads % shape.kvHeads !== 0) bad("layers.kvHeads");
    return shape;
  });
  return {
    numLayers,
    modelDim: int("modelDim"),
    headDim: int("headDim"),
    vocabSize: int("vocabSize"),
    numGqaGroups: int("numGqaGroups"),
    maxContextLength: int("maxContextLength"),
    ropeFreqConstant: positive("ropeFreqConstant"),
    ropeMaxLength: int("ropeMaxLength"),
    normEps: positive("normEps"),
    bosTokenId: int("bosTokenId", 0),
    eosTokenId: int("eosTokenId", 0),
    layers: parsedLayers,
  };
}

/** Parameter count with the output layer tied to the embeddings (as published). */
export function countParameters(config: OpenElmConfig): number {
  const d = config.modelDim;
  const h = config.headDim;
  let total = config.vocabSize * d + d;
  for (const layer of config.layers) {
    total += 2 * d + 2 * h;
    total += (layer.queryHeads + 2 * layer.kvHeads) * h * d + layer.queryHeads * h * d;
    total += 3 * layer.ffnDim * d;
  }
  return total;
}
