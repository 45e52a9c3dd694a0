/**
 * Writes a random OpenELM checkpoint in the exact Hugging Face layout (config.json plus
 * model.safetensors, or shards with an index), deterministic from a seed. Tests and the benchmark
 * use it in place of Apple's weights, so it imports no test framework.
 *
 * The weights are scaled so the model behaves like a language model rather than noise: greedy text
 * moves between tokens instead of repeating one, and top-1 logit margins are usually clear.
 */
import { type FileHandle, mkdir, open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expectedTensors } from "../../engine/openelm/checkpoint.ts";
import {
  numpyLinspace,
  numpyRound2,
  type OpenElmConfig,
  parseOpenElmConfig,
} from "../../engine/openelm/config.ts";
import { sfc32 } from "../../engine/runtime/random.ts";
import { f32ToBf16Bits, f32ToF16Bits } from "./half.ts";

export interface RandomCheckpointOptions {
  numLayers: number;
  modelDim: number;
  headDim: number;
  /** Default 32000 (the Llama-2 tokenizer's). */
  vocabSize?: number;
  /** Default 4. */
  numGqaGroups?: number;
  /** Default [0.5, 1]. */
  qkvMultipliers?: [number, number];
  /** Default [0.5, 4]. */
  ffnMultipliers?: [number, number];
  /** Default 256. */
  ffnDimDivisor?: number;
  /** Default F32. */
  dtype?: "F32" | "F16" | "BF16";
  /** Default 1 (a single model.safetensors). */
  shards?: number;
  /** "lists" writes the per-layer lists published files carry; "ranges" only the [min, max] pairs. */
  configForm?: "lists" | "ranges";
  /** Default 0. */
  seed?: number;
}

/** 4 layers, query heads 4/8/8/8, KV heads 1/2/2/2, FFN 256/512/768/1024: small but every feature on. */
export const SMALL_OPENELM: RandomCheckpointOptions = { numLayers: 4, modelDim: 256, headDim: 32 };

/** Exactly OpenELM-270M's shapes (about 1 GB in F32). */
export const OPENELM_270M_SHAPE: RandomCheckpointOptions = { numLayers: 16, modelDim: 1280, headDim: 64 };

/**
 * Typical logit spread: embeddings get standard deviation LOGIT_SCALE / sqrt(modelDim), so after the
 * final RMSNorm the logits have a standard deviation near LOGIT_SCALE.
 */
const LOGIT_SCALE = 4;
/**
 * Output gain of the feed-forward blocks. Attention mixes the context, so with unit gain everywhere
 * consecutive positions end up alike and greedy text repeats one token; a stronger, per-token FFN
 * makes each step depend on the token just read while attention still carries the context
 * (changing the first of four tokens changes the last position's top-1 almost always).
 */
const FFN_GAIN = 4;
/** RMSNorm weights are 1 plus noise of this standard deviation. */
const NORM_NOISE = 0.1;
/** Values generated per write: bounds memory while a 160 MB embedding streams out. */
const CHUNK = 1 << 20;

/** The config.json text Apple's files carry for these options. */
export function randomCheckpointConfig(options: RandomCheckpointOptions): Record<string, unknown> {
  const qkv = options.qkvMultipliers ?? [0.5, 1];
  const ffn = options.ffnMultipliers ?? [0.5, 4];
  const ranges: Record<string, unknown> = {
    activation_fn_name: "swish",
    architectures: ["OpenELMForCausalLM"],
    bos_token_id: 1,
    eos_token_id: 2,
    ffn_dim_divisor: options.ffnDimDivisor ?? 256,
    ffn_multipliers: [...ffn],
    ffn_with_glu: true,
    head_dim: options.headDim,
    initializer_range: 0.02,
    max_context_length: 2048,
    model_dim: options.modelDim,
    model_type: "openelm",
    normalization_layer_name: "rms_norm",
    normalize_qk_projections: true,
    num_gqa_groups: options.numGqaGroups ?? 4,
    num_transformer_layers: options.numLayers,
    qkv_multipliers: [...qkv],
    rope_freq_constant: 10000,
    rope_max_length: 4096,
    share_input_output_layers: true,
    torch_dtype: { F32: "float32", F16: "float16", BF16: "bfloat16" }[options.dtype ?? "F32"],
    transformers_version: "4.39.3",
    use_cache: true,
    vocab_size: options.vocabSize ?? 32000,
  };
  if ((options.configForm ?? "lists") === "ranges") return ranges;
  const config = parseOpenElmConfig(ranges, "random checkpoint options");
  return {
    ...ranges,
    ffn_multipliers: numpyLinspace(ffn[0], ffn[1], options.numLayers).map(numpyRound2),
    num_kv_heads: config.layers.map((l) => l.kvHeads),
    num_query_heads: config.layers.map((l) => l.queryHeads),
  };
}

/** A generator for one tensor: depends on the seed and the name only, so shards and dtypes agree. */
function tensorRandom(seed: number, name: string): () => number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return sfc32(0x9e3779b9, h, seed | 0, h ^ 0x5bd1e995);
}

/** How a tensor's values are drawn: centre plus uniform noise of the given standard deviation. */
function distribution(name: string, shape: number[], modelDim: number): { centre: number; std: number } {
  if (name.endsWith("norm.weight")) return { centre: 1, std: NORM_NOISE };
  if (name === "transformer.token_embeddings.weight")
    return { centre: 0, std: LOGIT_SCALE / Math.sqrt(modelDim) };
  const gain = name.endsWith("ffn.proj_2.weight") ? FFN_GAIN : 1;
  return { centre: 0, std: gain / Math.sqrt(shape[1]) };
}

const BYTES = { F32: 4, F16: 2, BF16: 2 } as const;

interface PlannedTensor {
  name: string;
  shape: number[];
  elements: number;
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

/** The safetensors header for tensors laid out back to back, padded to 8 bytes as the reference writer does. */
function headerBytes(tensors: PlannedTensor[], dtype: keyof typeof BYTES): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const t of tensors) {
    const length = t.elements * BYTES[dtype];
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

async function writeTensorData(
  handle: FileHandle,
  tensor: PlannedTensor,
  dtype: keyof typeof BYTES,
  seed: number,
  modelDim: number,
): Promise<void> {
  const random = tensorRandom(seed, tensor.name);
  const { centre, std } = distribution(tensor.name, tensor.shape, modelDim);
  // Uniform on [-a, a) has standard deviation a / sqrt(3).
  const spread = 2 * Math.sqrt(3) * std;
  const values = new Float32Array(Math.min(CHUNK, tensor.elements));
  const halves = new Uint16Array(values.length);
  for (let done = 0; done < tensor.elements; ) {
    const n = Math.min(values.length, tensor.elements - done);
    for (let i = 0; i < n; i++) values[i] = centre + (random() - 0.5) * spread;
    if (dtype === "F32") {
      await writeAll(handle, new Uint8Array(values.buffer, 0, n * 4));
    } else {
      const encode = dtype === "F16" ? f32ToF16Bits : f32ToBf16Bits;
      for (let i = 0; i < n; i++) halves[i] = encode(values[i]);
      await writeAll(handle, new Uint8Array(halves.buffer, 0, n * 2));
    }
    done += n;
  }
}

/** Splits the tensors (in order) into `count` runs of roughly equal size, none empty. */
function splitIntoShards(tensors: PlannedTensor[], count: number): PlannedTensor[][] {
  const total = tensors.reduce((sum, t) => sum + t.elements, 0);
  const shards: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  let filled = 0;
  tensors.forEach((t, i) => {
    current.push(t);
    filled += t.elements;
    const left = tensors.length - i - 1;
    const shardsLeft = count - shards.length - 1;
    if (shardsLeft > 0 && (filled >= (total * (shards.length + 1)) / count || left === shardsLeft)) {
      shards.push(current);
      current = [];
    }
  });
  shards.push(current);
  return shards;
}

/** Writes config.json and the weights into dir (created if needed). */
export async function writeRandomCheckpoint(dir: string, options: RandomCheckpointOptions): Promise<void> {
  const rawConfig = randomCheckpointConfig(options);
  const config: OpenElmConfig = parseOpenElmConfig(rawConfig, "random checkpoint options");
  const dtype = options.dtype ?? "F32";
  const seed = options.seed ?? 0;
  const tensors = expectedTensors(config).map((t) => ({
    ...t,
    elements: t.shape.reduce((a, b) => a * b, 1),
  }));
  const shardCount = options.shards ?? 1;
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > tensors.length) {
    throw new Error(`shards must be an integer from 1 to ${tensors.length}, not ${shardCount}`);
  }

  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), `${JSON.stringify(rawConfig, null, 2)}\n`);

  const shards = splitIntoShards(tensors, shardCount);
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const pad = (n: number) => String(n).padStart(5, "0");
    const file =
      shardCount === 1 ? "model.safetensors" : `model-${pad(i + 1)}-of-${pad(shardCount)}.safetensors`;
    const handle = await open(join(dir, file), "w");
    try {
      await writeAll(handle, headerBytes(shard, dtype));
      for (const tensor of shard) {
        await writeTensorData(handle, tensor, dtype, seed, config.modelDim);
        weightMap[tensor.name] = file;
      }
    } finally {
      await handle.close();
    }
  }
  if (shardCount > 1) {
    const totalSize = tensors.reduce((sum, t) => sum + t.elements * BYTES[dtype], 0);
    const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
    await writeFile(join(dir, "model.safetensors.index.json"), `${JSON.stringify(index, null, 2)}\n`);
  }
}
