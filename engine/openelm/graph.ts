/**
 * The OpenELM decoder as an onnxruntime graph, built from the config alone. It reads top to bottom
 * like the paper: embedding, then per layer rmsNorm -> attention -> rmsNorm -> feedForward with the
 * residual sums folded into SkipSimplifiedLayerNormalization, then the final norm and the head tied to
 * the embedding. Every node is named after its place (/model/layers.3/attn/qkv_proj/MatMul).
 *
 * The graph does not touch weights: it declares which checkpoint tensor each initializer comes from
 * and in what form (`WeightJob`), and the converter streams them into external data afterwards.
 *
 * Inputs: input_ids int64 [1, S]; seqlens_k int32 [1] (index of the last valid position, i.e. total
 * length - 1); total_sequence_length int32 []; past_key_values.{i}.key/value float [1, kv_i, P, h]
 * (the runtime passes one max-length buffer per layer and binds it as the present output too, so the
 * cache is updated in place). Outputs: logits float [1, V] for the last position only (a prefill
 * never needs the others, and the head is the single largest matmul), present.{i}.key/value.
 */
import { DataType, GraphBuilder, type NodeSpec } from "../onnx/graph-builder.ts";
import type { OpenElmConfig } from "./config.ts";

export type Precision = "fp32" | "int8" | "int4";
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
  | { kind: "vector"; source: string; name: string; length: number }
  | { kind: "linear"; source: string; name: string; rows: number; cols: number }
  | { kind: "embedding"; source: string; name: string; rows: number; cols: number };

export interface OpenElmGraph {
  builder: GraphBuilder;
  weights: WeightJob[];
  /** Names the runtime feeds and fetches. */
  io: { kvNames: { pastKey: string; pastValue: string; presentKey: string; presentValue: string }[] };
}

/** The initializer names a weight job produces, shared by the graph and the converter. */
export function initializerNames(job: WeightJob): { data: string; scales: string; gatherScales: string } {
  return { data: job.name, scales: `${job.name}.scales`, gatherScales: `${job.name}.gather_scales` };
}

/** onnxruntime's MatMulNBits accuracy level: 4 quantizes activations to int8 (2.3x faster on CPU). */
const MATMUL_ACCURACY_LEVEL = 4;

export function buildOpenElmGraph(
  config: OpenElmConfig,
  precision: Precision,
  blockSize: BlockSize = defaultBlockSize(precision),
): OpenElmGraph {
  const g = new GraphBuilder("openelm");
  const weights: WeightJob[] = [];
  const bits = precision === "int4" ? 4 : precision === "int8" ? 8 : 0;
  const d = config.modelDim;
  const h = config.headDim;
  const eps = { float: config.normEps };
  const kvNames: OpenElmGraph["io"]["kvNames"] = [];

  const node = (spec: NodeSpec) => g.node(spec);

  // --- inputs and shared constants -------------------------------------------------------------
  const inputIds = g.input({ name: "input_ids", dataType: DataType.INT64, shape: [1, "sequence"] });
  const seqlensK = g.input({ name: "seqlens_k", dataType: DataType.INT32, shape: [1] });
  const totalLen = g.input({ name: "total_sequence_length", dataType: DataType.INT32, shape: [] });
  const { cos, sin } = rotaryCaches(g, config);
  const lastIndex = g.int64s("/model/constants/last_index", [-1], []);

  /** y = x @ W^T for a checkpoint weight [rows=out, cols=in]. */
  function linear(place: string, source: string, x: string, rows: number, cols: number): string {
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
    return matMulNBits(g, place, x, names, { rows, cols, bits, blockSize }, `${place}/output_0`);
  }

  function normWeight(source: string, length: number): string {
    weights.push({ kind: "vector", source, name: source, length });
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

  /** Per-head RMSNorm over head_dim with one [h] weight shared by every head (q_norm, k_norm). */
  function headNorm(place: string, x: string, heads: number, weight: string): string {
    const perHead = g.int64s(`${place}/per_head_shape`, [0, 0, heads, h]);
    const flat = g.int64s(`${place}/flat_shape`, [0, 0, heads * h]);
    const [split] = node({
      name: `${place}/Reshape`,
      op: "Reshape",
      inputs: [x, perHead],
      outputs: [`${place}/Reshape/output_0`],
    }); // [1, S, heads, h]
    const normed = rmsNorm(place, split, weight); // [1, S, heads, h]
    return node({
      name: `${place}/Reshape_1`,
      op: "Reshape",
      inputs: [normed, flat],
      outputs: [`${place}/Reshape_1/output_0`],
    })[0]; // [1, S, heads * h]
  }

  function attention(i: number, x: string): string {
    const { queryHeads: qH, kvHeads: kvH } = config.layers[i];
    const place = `/model/layers.${i}/attn`;
    const src = `transformer.layers.${i}.attn`;
    const qkv = linear(`${place}/qkv_proj`, `${src}.qkv_proj.weight`, x, (qH + 2 * kvH) * h, d); // [1, S, (qH + 2 kvH) * h]
    const sizes = g.int64s(`${place}/qkv_split_sizes`, [qH * h, kvH * h, kvH * h]);
    const [q, k, v] = node({
      name: `${place}/Split`,
      op: "Split",
      inputs: [qkv, sizes],
      outputs: [`${place}/q`, `${place}/k`, `${place}/v`],
      attributes: { axis: { int: -1 } },
    }); // q [1, S, qH * h], k and v [1, S, kvH * h]
    const qNormed = headNorm(`${place}/q_norm`, q, qH, normWeight(`${src}.q_norm.weight`, h));
    const kNormed = headNorm(`${place}/k_norm`, k, kvH, normWeight(`${src}.k_norm.weight`, h));

    const names = {
      pastKey: `past_key_values.${i}.key`,
      pastValue: `past_key_values.${i}.value`,
      presentKey: `present.${i}.key`,
      presentValue: `present.${i}.value`,
    };
    kvNames.push(names);
    g.input({ name: names.pastKey, dataType: DataType.FLOAT, shape: [1, kvH, "past_sequence_length", h] });
    g.input({ name: names.pastValue, dataType: DataType.FLOAT, shape: [1, kvH, "past_sequence_length", h] });
    g.output({
      name: names.presentKey,
      dataType: DataType.FLOAT,
      shape: [1, kvH, "present_sequence_length", h],
    });
    g.output({
      name: names.presentValue,
      dataType: DataType.FLOAT,
      shape: [1, kvH, "present_sequence_length", h],
    });

    // Rotary (rotate-half, base rope_freq_constant), causal masking, the KV cache and the
    // query-to-KV head grouping (head j reads KV head floor(j / (qH / kvH))) all happen in one kernel.
    const [attn] = node({
      name: `${place}/GroupQueryAttention`,
      op: "GroupQueryAttention",
      domain: "com.microsoft",
      inputs: [qNormed, kNormed, v, names.pastKey, names.pastValue, seqlensK, totalLen, cos, sin],
      outputs: [`${place}/GroupQueryAttention/output_0`, names.presentKey, names.presentValue],
      attributes: {
        num_heads: { int: qH },
        kv_num_heads: { int: kvH },
        do_rotary: { int: 1 },
        rotary_interleaved: { int: 0 },
      },
    }); // [1, S, qH * h]
    return linear(`${place}/out_proj`, `${src}.out_proj.weight`, attn, d, qH * h); // [1, S, d]
  }

  function feedForward(i: number, x: string): string {
    const f = config.layers[i].ffnDim;
    const place = `/model/layers.${i}/ffn`;
    const src = `transformer.layers.${i}.ffn`;
    const both = linear(`${place}/proj_1`, `${src}.proj_1.weight`, x, 2 * f, d); // [1, S, 2f]
    const halves = g.int64s(`${place}/glu_split_sizes`, [f, f]);
    const [gate, up] = node({
      name: `${place}/Split`,
      op: "Split",
      inputs: [both, halves],
      outputs: [`${place}/gate`, `${place}/up`],
      attributes: { axis: { int: -1 } },
    }); // each [1, S, f]; the gate is the first half
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

/** x @ W^T with W block-quantized: the checkpoint's [rows=out, cols=in] layout, read directly. */
function matMulNBits(
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
