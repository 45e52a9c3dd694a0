/**
 * The OpenELM decoder as an onnxruntime graph, built from the config alone. It reads top to bottom
 * like the paper: embedding, then per layer rmsNorm -> attention -> rmsNorm -> feedForward with the
 * residual sums folded into SkipSimplifiedLayerNormalization, then the final norm and the head tied to
 * the embedding. Every node is named after its place (/model/layers.3/attn/qkv_proj/MatMul).
 *
 * The graph does not touch weights: it declares which checkpoint tensor each initializer comes from
 * and in what form (`WeightJob`), and the converter streams them into external data afterwards.
 *
 * Attention comes in two forms over the same weights (`AttentionKind`), because no one kernel is
 * good everywhere:
 *  - "grouped" (GPU providers): com.microsoft GroupQueryAttention does rotary, the cache write and
 *    attention in one node. Inputs: input_ids int64 [1, S]; seqlens_k int32 [1] (total length - 1);
 *    total_sequence_length int32 []; past_key_values.{i}.key/value float [1, kv_i, W, h], bound by
 *    the runtime as present.{i}.key/value too, so the cache is updated in place.
 *  - "standard" (the CPU): one norm and one RotaryEmbedding for q and k together, TensorScatter and
 *    ONNX Attention (opset 24).
 *    onnxruntime's CPU GroupQueryAttention computes q.k and p.v with 128-bit loops and re-reads each
 *    KV head once per query head, so decode slowed to about half its speed as the window filled; its
 *    Attention runs on MLAS's GEMM kernels. Inputs: input_ids; past_length int64 [] (tokens already
 *    cached); past_key_values.{i}.key/value float [1, kv_i, L, h], a view of L >= past_length + S rows
 *    per KV head over the runtime's cache (head-major, each head's rows together: the layout the CPU's
 *    Attention reads fastest; the runtime moves the rows when L changes, runtime/kv-cache.ts), bound
 *    as present.{i}.key/value too. TensorScatter writes the new rows at past_length in place, and a
 *    mask hides rows past each query's position, so L can be rounded up and the view rebound seldom.
 * Both output logits float [1, V] for the last position only (a prefill never needs the others, and
 * the head is the single largest matmul).
 */
import { DataType, GraphBuilder, type NodeSpec } from "../onnx/graph-builder.ts";
import type { OpenElmConfig } from "./config.ts";

export type Precision = "fp32" | "int8" | "int4";
/** Which attention the graph uses (see the top of this file). */
export type AttentionKind = "grouped" | "standard";
export const PRECISIONS: readonly Precision[] = ["fp32", "int8", "int4"];
/**
 * Block sizes for int8/int4 weights (one float scale per block along K). Bigger blocks store fewer
 * scales: onnxruntime's MatMulNBits keeps about 0.75 bytes per int4 weight at 32, 0.625 at 64 and
 * 0.56 at 128 after prepacking (llama.cpp's Q4_0: 0.5625), and decoding streams every weight once
 * per token, so bytes per weight set decode speed; the accuracy each costs is in the README.
 */
export const BLOCK_SIZES = [32, 64, 128] as const;
export type BlockSize = (typeof BLOCK_SIZES)[number];

/** The default block size of each quantized precision. */
export function defaultBlockSize(precision: Precision): BlockSize {
  return precision === "int4" ? 128 : 32;
}

/** How one checkpoint tensor becomes initializers. */
export type WeightJob =
  | { kind: "vector"; source: string; name: string; length: number; scale?: number }
  | { kind: "linear"; source: string; name: string; rows: number; cols: number }
  | { kind: "embedding"; source: string; name: string; rows: number; cols: number };

export interface OpenElmGraph {
  builder: GraphBuilder;
  weights: WeightJob[];
  /** Names the runtime feeds and fetches. */
  io: { kvNames: { pastKey: string; pastValue: string; presentKey: string; presentValue: string }[] };
}

/** The initializer names a weight job produces, shared by the graph and the converter. */
export function initializerNames(job: WeightJob): {
  data: string;
  scales: string;
  gatherScales: string;
  gemm: string;
  gemmScales: string;
} {
  return {
    data: job.name,
    scales: `${job.name}.scales`,
    gatherScales: `${job.name}.gather_scales`,
    gemm: `${job.name}.gemm`,
    gemmScales: `${job.name}.gemm_scales`,
  };
}

export interface GraphOptions {
  /**
   * int8 qkv_proj and proj_1 (the linear layers whose input is normed, see linear()) through
   * onnxruntime's int8 GEMM (DynamicQuantizeMatMul over int8 [K, N] weights with a scale per output)
   * rather than MatMulNBits. The default for the CPU graph: MLAS's GEMM computes many rows several
   * times faster (with AMX where the CPU has it) and streams one row faster too (`npm run bench --
   * --suite kernels`). GPU graphs keep MatMulNBits, and so does a CPU graph rebuilt for a model
   * converted before, whose folder holds no such weights.
   */
  int8Gemm?: boolean;
}

/** onnxruntime's MatMulNBits accuracy level: 4 quantizes activations to int8 (2.3x faster on CPU). */
const MATMUL_ACCURACY_LEVEL = 4;

export function buildOpenElmGraph(
  config: OpenElmConfig,
  precision: Precision,
  blockSize: BlockSize = defaultBlockSize(precision),
  attentionKind: AttentionKind = "grouped",
  options: GraphOptions = {},
): OpenElmGraph {
  const standard = attentionKind === "standard";
  const int8Gemm = precision === "int8" && (options.int8Gemm ?? standard);
  // ONNX Attention's key/value-sequence form and TensorScatter came with opset 24.
  const g = new GraphBuilder("openelm", standard ? 24 : 21);
  const weights: WeightJob[] = [];
  const bits = precision === "int4" ? 4 : precision === "int8" ? 8 : 0;
  const d = config.modelDim;
  const h = config.headDim;
  const eps = { float: config.normEps };
  const kvNames: OpenElmGraph["io"]["kvNames"] = [];

  const node = (spec: NodeSpec) => g.node(spec);

  // --- inputs and shared constants -------------------------------------------------------------
  const inputIds = g.input({ name: "input_ids", dataType: DataType.INT64, shape: [1, "sequence"] });
  const lengths = standard ? cacheViewInputs(g, inputIds) : groupedLengthInputs(g);
  const { cos, sin } = rotaryCaches(g, config);
  const lastIndex = g.int64s("/model/constants/last_index", [-1], []);

  /**
   * y = x @ W^T for a checkpoint weight [rows=out, cols=in]. `normed`: x is an RMSNorm's output, so
   * every row has the same scale, which the int8 GEMM needs: it quantizes all rows of x with one scale,
   * and the inputs of out_proj and proj_2 are not normed (a prompt's first token can carry values
   * hundreds of times larger than the others there), so those stay on MatMulNBits, which quantizes
   * x in blocks of 32 along each row.
   */
  function linear(
    place: string,
    source: string,
    x: string,
    rows: number,
    cols: number,
    normed = false,
  ): string {
    const job: WeightJob = { kind: "linear", source, name: `${source}`, rows, cols };
    weights.push(job);
    const names = initializerNames(job);
    if (bits === 0) {
      // [.., cols] @ [cols, rows]: the converter stores the weight transposed for MatMul.
      return node({
        name: `${place}/MatMul`,
        op: "MatMul",
        inputs: [x, names.data],
        outputs: [`${place}/output_0`],
      })[0];
    }
    if (int8Gemm && normed) return int8GemmMatMul(g, place, x, names, `${place}/output_0`);
    return matMulNBits(g, place, x, names, { rows, cols, bits, blockSize }, `${place}/output_0`);
  }

  function normWeight(source: string, length: number, scale?: number): string {
    weights.push({ kind: "vector", source, name: source, length, ...(scale === undefined ? {} : { scale }) });
    return source;
  }

  /** RMSNorm of x (first use, no residual). */
  function rmsNorm(place: string, x: string, weight: string): string {
    return node({
      name: `${place}/SimplifiedLayerNormalization`,
      op: "SimplifiedLayerNormalization",
      inputs: [x, weight],
      outputs: [`${place}/output_0`],
      attributes: { axis: { int: -1 }, epsilon: eps, stash_type: { int: 1 } },
    })[0];
  }

  /** RMSNorm of (x + residual), also returning the sum, which becomes the new residual stream. */
  function addAndNorm(place: string, x: string, residual: string, weight: string): [string, string] {
    const [normed, , , sum] = node({
      name: `${place}/SkipSimplifiedLayerNormalization`,
      op: "SkipSimplifiedLayerNormalization",
      domain: "com.microsoft",
      inputs: [x, residual, weight],
      outputs: [`${place}/output_0`, "", "", `${place}/output_3`],
      attributes: { epsilon: eps },
    });
    return [normed, sum];
  }

  /** Per-head RMSNorm over head_dim of x [1, S, heads * h]; `weight` is [h] or [heads, h]. */
  function headNorm(place: string, x: string, heads: number, weight: string): string {
    const normed = rmsNorm(place, reshape(place, x, [0, 0, heads, h]), weight); // [1, S, heads, h]
    return reshape(`${place}/flat`, normed, [0, 0, heads * h]); // [1, S, heads * h]
  }

  /**
   * The [qH + kvH, h] weight that norms q and k in one operator: q_norm's [h] for each query head, then
   * k_norm's for each KV head. Built in the graph from the checkpoint's two vectors (Expand and Concat
   * of initializers, which onnxruntime folds into a constant when the session loads), so the stored
   * weights stay as they were.
   */
  function qkNormWeight(place: string, weights: NormWeights, heads: Heads): string {
    const tiled = (what: string, weight: string, count: number) =>
      node({
        name: `${place}/${what}_weight/Expand`,
        op: "Expand",
        inputs: [weight, g.int64s(`${place}/${what}_weight/shape`, [count, h])],
        outputs: [`${place}/${what}_weight/output_0`],
      })[0];
    return node({
      name: `${place}/weight/Concat`,
      op: "Concat",
      inputs: [tiled("q", weights.q, heads.qH), tiled("k", weights.k, heads.kvH)],
      outputs: [`${place}/weight/output_0`],
      attributes: { axis: { int: 0 } },
    })[0];
  }

  /** Splits x along an axis (by default its last) into parts of the given sizes. */
  function split(place: string, x: string, sizes: number[], outputs: string[], axis = -1): string[] {
    return node({
      name: `${place}/Split`,
      op: "Split",
      inputs: [x, g.int64s(`${place}/split_sizes`, sizes)],
      outputs: outputs.map((o) => `${place}/${o}`),
      attributes: { axis: { int: axis } },
    });
  }

  type CacheNames = OpenElmGraph["io"]["kvNames"][number];
  type Heads = { qH: number; kvH: number };
  type NormWeights = { q: string; k: string };

  /**
   * q_norm and k_norm, then rotary (rotate-half, base rope_freq_constant), the cache write, causal
   * masking and the head grouping (query head j reads KV head floor(j / (qH / kvH))) in one kernel.
   * Each norm has its [h] weight: WebGPU's norm kernel takes no broadcast weight.
   */
  function groupedAttention(
    place: string,
    qkv: string,
    weights: NormWeights,
    names: CacheNames,
    heads: Heads,
  ): string {
    if (lengths.kind !== "grouped") throw new Error("grouped attention needs the grouped inputs");
    const { qH, kvH } = heads;
    const [q, k, v] = split(place, qkv, [qH * h, kvH * h, kvH * h], ["q", "k", "v"]);
    const qNormed = headNorm(`${place}/q_norm`, q, qH, weights.q);
    const kNormed = headNorm(`${place}/k_norm`, k, kvH, weights.k);
    return node({
      name: `${place}/GroupQueryAttention`,
      op: "GroupQueryAttention",
      domain: "com.microsoft",
      inputs: [
        qNormed,
        kNormed,
        v,
        names.pastKey,
        names.pastValue,
        lengths.seqlensK,
        lengths.totalLength,
        cos,
        sin,
      ],
      outputs: [`${place}/GroupQueryAttention/output_0`, names.presentKey, names.presentValue],
      attributes: {
        num_heads: { int: qH },
        kv_num_heads: { int: kvH },
        do_rotary: { int: 1 },
        rotary_interleaved: { int: 0 },
        scale: { float: 1 },
      },
    })[0]; // [1, S, qH * h]
  }

  /**
   * q and k normed and rotated together (one norm with a per-head weight, one rotary: every head of
   * both turns by its position alike), so a layer runs three operators fewer than with q and k apart;
   * then the new rows, turned head-major like the cache, written into the cache view in place, and
   * attention over the view, its output turned back to [1, S, qH * h].
   */
  function standardAttention(
    place: string,
    qkv: string,
    weights: NormWeights,
    names: CacheNames,
    heads: Heads,
  ): string {
    if (lengths.kind !== "standard") throw new Error("standard attention needs the cache-view inputs");
    const { qH, kvH } = heads;
    const [qk, v] = split(place, qkv, [(qH + kvH) * h, kvH * h], ["qk", "v"]);
    const perHead = (name: string, x: string, count: number) =>
      reshape(`${place}/${name}`, x, [0, 0, count, h]); // [1, S, count, h]
    const normed = rmsNorm(
      `${place}/qk_norm`,
      perHead("qk_heads", qk, qH + kvH),
      qkNormWeight(`${place}/qk_norm`, weights, heads),
    );
    const [rotated] = node({
      name: `${place}/qk_rotary/RotaryEmbedding`,
      op: "RotaryEmbedding",
      domain: "com.microsoft",
      inputs: [headsFirst(`${place}/qk_heads`, normed), lengths.positionIds, cos, sin],
      outputs: [`${place}/qk_rotary/output_0`],
      attributes: { interleaved: { int: 0 } },
    }); // [1, qH + kvH, S, h]
    const [q, k] = split(`${place}/qk`, rotated, [qH, kvH], ["q", "k"], 1); // by heads
    const write = (what: string, past: string, rows: string, present: string) =>
      node({
        name: `${place}/${what}_cache/TensorScatter`,
        op: "TensorScatter",
        inputs: [past, rows, lengths.writeIndex],
        outputs: [present],
        attributes: { axis: { int: 2 } },
      })[0];
    const keys = write("key", names.pastKey, k, names.presentKey);
    const values = write(
      "value",
      names.pastValue,
      headsFirst(`${place}/v_heads`, perHead("v_heads", v, kvH)),
      names.presentValue,
    );
    const [attended] = node({
      name: `${place}/Attention`,
      op: "Attention",
      inputs: [q, keys, values, lengths.mask],
      outputs: [`${place}/Attention/output_0`],
      attributes: { scale: { float: 1 } },
    }); // [1, qH, S, h]
    const [sequenceFirst] = node({
      name: `${place}/Attention/Transpose`,
      op: "Transpose",
      inputs: [attended],
      outputs: [`${place}/Attention/Transpose/output_0`],
      attributes: { perm: { ints: [0, 2, 1, 3] } },
    }); // [1, S, qH, h]
    return reshape(`${place}/Attention`, sequenceFirst, [0, 0, qH * h]); // [1, S, qH * h]
  }

  /** x reshaped to `shape` (0 keeps that dimension), by a node named `${place}/Reshape`. */
  function reshape(place: string, x: string, shape: number[]): string {
    return node({
      name: `${place}/Reshape`,
      op: "Reshape",
      inputs: [x, g.int64s(`${place}/shape`, shape)],
      outputs: [`${place}/Reshape/output_0`],
    })[0];
  }

  /** [1, S, heads, h] to [1, heads, S, h]: the standard cache's layout, each head's rows together. */
  function headsFirst(place: string, x: string): string {
    return node({
      name: `${place}/Transpose`,
      op: "Transpose",
      inputs: [x],
      outputs: [`${place}/Transpose/output_0`],
      attributes: { perm: { ints: [0, 2, 1, 3] } },
    })[0];
  }

  function attention(i: number, x: string): string {
    const { queryHeads: qH, kvHeads: kvH } = config.layers[i];
    const place = `/model/layers.${i}/attn`;
    const src = `transformer.layers.${i}.attn`;
    const qkv = linear(`${place}/qkv_proj`, `${src}.qkv_proj.weight`, x, (qH + 2 * kvH) * h, d, true); // [1, S, (qH + 2 kvH) * h]
    // Attention's 1/sqrt(h) is folded into q_norm's weight (rotary is linear, so scaling before it is
    // the same) and the kernels run with scale 1: MLAS's single-row GEMM, which a decode step's q.K^T
    // is, takes its fast path only with alpha 1 (the general path first packs all of K).
    const weights = {
      q: normWeight(`${src}.q_norm.weight`, h, 1 / Math.sqrt(h)),
      k: normWeight(`${src}.k_norm.weight`, h),
    };

    const names = {
      pastKey: `past_key_values.${i}.key`,
      pastValue: `past_key_values.${i}.value`,
      presentKey: `present.${i}.key`,
      presentValue: `present.${i}.value`,
    };
    kvNames.push(names);
    const cacheShape = standard ? [1, kvH, "cache_length", h] : [1, kvH, "past_sequence_length", h];
    for (const name of [names.pastKey, names.pastValue])
      g.input({ name, dataType: DataType.FLOAT, shape: cacheShape });
    for (const name of [names.presentKey, names.presentValue])
      g.output({
        name,
        dataType: DataType.FLOAT,
        shape: standard ? cacheShape : [1, kvH, "present_sequence_length", h],
      });

    const attn = (standard ? standardAttention : groupedAttention)(place, qkv, weights, names, { qH, kvH });
    return linear(`${place}/out_proj`, `${src}.out_proj.weight`, attn, d, qH * h); // [1, S, d]
  }

  function feedForward(i: number, x: string): string {
    const f = config.layers[i].ffnDim;
    const place = `/model/layers.${i}/ffn`;
    const src = `transformer.layers.${i}.ffn`;
    const both = linear(`${place}/proj_1`, `${src}.proj_1.weight`, x, 2 * f, d, true); // [1, S, 2f]
    const [gate, up] = split(place, both, [f, f], ["gate", "up"]); // each [1, S, f]; the gate is the first half
    const [sig] = node({
      name: `${place}/act/Sigmoid`,
      op: "Sigmoid",
      inputs: [gate],
      outputs: [`${place}/act/Sigmoid/output_0`],
    });
    const [silu] = node({
      name: `${place}/act/Mul`,
      op: "Mul",
      inputs: [gate, sig],
      outputs: [`${place}/act/Mul/output_0`],
    });
    const [glu] = node({
      name: `${place}/Mul`,
      op: "Mul",
      inputs: [silu, up],
      outputs: [`${place}/Mul/output_0`],
    }); // [1, S, f]
    return linear(`${place}/proj_2`, `${src}.proj_2.weight`, glu, d, f); // [1, S, d]
  }

  // --- the model ---------------------------------------------------------------------------------
  const embedding: Extract<WeightJob, { kind: "embedding" }> = {
    kind: "embedding",
    source: "transformer.token_embeddings.weight",
    name: "transformer.token_embeddings.weight",
    rows: config.vocabSize,
    cols: d,
  };
  weights.push(embedding);
  let residual = embed(g, embedding, inputIds, bits, blockSize); // [1, S, d]

  let normed = rmsNorm(
    "/model/layers.0/attn_norm",
    residual,
    normWeight("transformer.layers.0.attn_norm.weight", d),
  );
  for (let i = 0; i < config.numLayers; i++) {
    const attnOut = attention(i, normed);
    [normed, residual] = addAndNorm(
      `/model/layers.${i}/ffn_norm`,
      attnOut,
      residual,
      normWeight(`transformer.layers.${i}.ffn_norm.weight`, d),
    );
    const ffnOut = feedForward(i, normed);
    const last = i === config.numLayers - 1;
    const nextNorm = last ? "/model/norm" : `/model/layers.${i + 1}/attn_norm`;
    const nextWeight = last ? "transformer.norm.weight" : `transformer.layers.${i + 1}.attn_norm.weight`;
    [normed, residual] = addAndNorm(nextNorm, ffnOut, residual, normWeight(nextWeight, d));
  }

  // Only the last position's logits are needed: slice before the head.
  const [lastHidden] = node({
    name: "/model/last_position/Gather",
    op: "Gather",
    inputs: [normed, lastIndex],
    outputs: ["/model/last_position/output_0"],
    attributes: { axis: { int: 1 } },
  }); // [1, d]
  const logits = head(g, embedding, lastHidden, bits, blockSize);
  g.output({ name: logits, dataType: DataType.FLOAT, shape: [1, config.vocabSize] });

  return { builder: g, weights, io: { kvNames } };
}

type LengthInputs =
  | { kind: "grouped"; seqlensK: string; totalLength: string }
  | { kind: "standard"; positionIds: string; writeIndex: string; mask: string };

function groupedLengthInputs(g: GraphBuilder): LengthInputs {
  return {
    kind: "grouped",
    seqlensK: g.input({ name: "seqlens_k", dataType: DataType.INT32, shape: [1] }),
    totalLength: g.input({ name: "total_sequence_length", dataType: DataType.INT32, shape: [] }),
  };
}

/**
 * From past_length and the shapes of input_ids and the first cache view: the new tokens' positions
 * [1, S], the row TensorScatter writes at [1], and the mask [S, L] that lets query i see rows up to
 * past_length + i (which also hides the view's rows past the valid length).
 */
function cacheViewInputs(g: GraphBuilder, inputIds: string): LengthInputs {
  const place = "/model/cache_view";
  const past = g.input({ name: "past_length", dataType: DataType.INT64, shape: [] });
  const zero = g.int64s(`${place}/zero`, [0], []);
  const one = g.int64s(`${place}/one`, [1], []);
  const axis0 = g.int64s(`${place}/axis_0`, [0]);
  const axis1 = g.int64s(`${place}/axis_1`, [1]);
  /** One node named `${place}/${name}/${op}`, with one output. */
  const step = (name: string, op: string, inputs: string[], attributes?: NodeSpec["attributes"]) =>
    g.node({
      name: `${place}/${name}/${op}`,
      op,
      inputs,
      outputs: [`${place}/${name}/output_0`],
      ...(attributes ? { attributes } : {}),
    })[0];
  /** One dimension of a tensor, as a scalar. */
  const dimension = (name: string, x: string, axis: number) =>
    step(name, "Squeeze", [
      step(`${name}_shape`, "Shape", [x], { start: { int: axis }, end: { int: axis + 1 } }),
      axis0,
    ]);
  const fresh = dimension("fresh", inputIds, 1);
  const rows = dimension("rows", "past_key_values.0.key", 2); // [1, kv heads, L, h]
  const end = step("end", "Add", [past, fresh]);
  const positions = step("positions", "Range", [past, end, one]); // [S]
  const positionIds = step("position_ids", "Unsqueeze", [positions, axis0]); // [1, S]
  const writeIndex = step("write_index", "Unsqueeze", [past, axis0]); // [1]
  const columns = step("columns", "Range", [zero, rows, one]); // [L]
  const queries = step("queries", "Unsqueeze", [positions, axis1]); // [S, 1]
  const mask = step("mask", "LessOrEqual", [columns, queries]); // [S, L] bool
  return { kind: "standard", positionIds, writeIndex, mask };
}

/** cos and sin of pos * base^(-2j / h) for every position of the window, [maxPos, h / 2]. */
function rotaryCaches(g: GraphBuilder, config: OpenElmConfig): { cos: string; sin: string } {
  const half = config.headDim / 2;
  const positions = config.maxContextLength;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let j = 0; j < half; j++) {
    const invFreq = 1 / config.ropeFreqConstant ** ((2 * j) / config.headDim);
    for (let p = 0; p < positions; p++) {
      cos[p * half + j] = Math.cos(p * invFreq);
      sin[p * half + j] = Math.sin(p * invFreq);
    }
  }
  const raw = (a: Float32Array) => new Uint8Array(a.buffer);
  return {
    cos: g.initializer({
      name: "cos_cache",
      dataType: DataType.FLOAT,
      dims: [positions, half],
      raw: raw(cos),
    }),
    sin: g.initializer({
      name: "sin_cache",
      dataType: DataType.FLOAT,
      dims: [positions, half],
      raw: raw(sin),
    }),
  };
}

/** Token embedding lookup; quantized models read the same int4/int8 bytes the tied head uses. */
function embed(
  g: GraphBuilder,
  job: Extract<WeightJob, { kind: "embedding" }>,
  ids: string,
  bits: number,
  blockSize: BlockSize,
): string {
  const names = initializerNames(job);
  const place = "/model/embed_tokens";
  if (bits === 0) {
    return g.node({
      name: `${place}/Gather`,
      op: "Gather",
      inputs: [names.data, ids],
      outputs: [`${place}/output_0`],
      attributes: { axis: { int: 0 } },
    })[0];
  }
  const [blocks] = g.node({
    name: `${place}/GatherBlockQuantized`,
    op: "GatherBlockQuantized",
    domain: "com.microsoft",
    inputs: [names.data, ids, names.gatherScales],
    outputs: [`${place}/GatherBlockQuantized/output_0`],
    attributes: {
      gather_axis: { int: 0 },
      quantize_axis: { int: 2 },
      block_size: { int: blockSize },
      bits: { int: bits },
    },
  }); // [1, S, blocks, blockSize]
  const shape = g.int64s(`${place}/shape`, [0, 0, -1]);
  return g.node({
    name: `${place}/Reshape`,
    op: "Reshape",
    inputs: [blocks, shape],
    outputs: [`${place}/output_0`],
  })[0]; // [1, S, d]
}

/** The output layer, tied to the token embedding: logits = x @ E^T. */
function head(
  g: GraphBuilder,
  job: Extract<WeightJob, { kind: "embedding" }>,
  x: string,
  bits: number,
  blockSize: BlockSize,
): string {
  const names = initializerNames(job);
  const place = "/lm_head";
  if (bits === 0) {
    return g.node({
      name: `${place}/Gemm`,
      op: "Gemm",
      inputs: [x, names.data],
      outputs: ["logits"],
      attributes: { transB: { int: 1 } },
    })[0];
  }
  return matMulNBits(g, place, x, names, { rows: job.rows, cols: job.cols, bits, blockSize }, "logits");
}

/** x @ W with W int8 [K, N] and a scale per output column: onnxruntime's int8 GEMM (MLAS QGEMM). */
export function int8GemmMatMul(
  g: GraphBuilder,
  place: string,
  x: string,
  names: { gemm: string; gemmScales: string },
  output: string,
): string {
  return g.node({
    name: `${place}/DynamicQuantizeMatMul`,
    op: "DynamicQuantizeMatMul",
    domain: "com.microsoft",
    inputs: [x, names.gemm, names.gemmScales],
    outputs: [output],
  })[0];
}

/** x @ W^T with W block-quantized: the checkpoint's [rows=out, cols=in] layout, read directly. */
export function matMulNBits(
  g: GraphBuilder,
  place: string,
  x: string,
  names: { data: string; scales: string },
  shape: { rows: number; cols: number; bits: number; blockSize: BlockSize },
  output: string,
): string {
  return g.node({
    name: `${place}/MatMulNBits`,
    op: "MatMulNBits",
    domain: "com.microsoft",
    inputs: [x, names.data, names.scales],
    outputs: [output],
    attributes: {
      K: { int: shape.cols },
      N: { int: shape.rows },
      bits: { int: shape.bits },
      block_size: { int: shape.blockSize },
      accuracy_level: { int: MATMUL_ACCURACY_LEVEL },
    },
  })[0];
}
