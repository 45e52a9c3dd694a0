/**
 * The eight published OpenELM checkpoints and what each costs on disk and in memory. Figures here are
 * the best known ones for planning and for the UI before a download starts; the hub's own answer
 * (file list, sizes, hashes) is always what a download trusts.
 */
import { availableParallelism, totalmem } from "node:os";
import type { Precision } from "../engine/openelm/graph.ts";

export type { Precision };
export const DEFAULT_PRECISION: Precision = "int4";

export interface CatalogFile {
  path: string;
  /** Approximate size in bytes as published (F32 weights). */
  bytes: number;
}

export interface CatalogEntry {
  /** The Hugging Face repository, e.g. "apple/OpenELM-270M-Instruct". */
  repoId: string;
  /** A short lower-case name, e.g. "openelm-270m-instruct"; store names add the precision. */
  slug: string;
  /** "270M", "450M", "1.1B" or "3B". */
  size: string;
  instruct: boolean;
  parameters: number;
  contextLength: number;
  layers: number;
  modelDim: number;
  /** Keys and values for one token across all layers, at fp32 (what the KV cache holds). */
  kvBytesPerToken: number;
  files: CatalogFile[];
}

const GB = 1_000_000_000;

interface Family {
  size: string;
  name: string;
  parameters: number;
  layers: number;
  modelDim: number;
  kvBytesPerToken: number;
  weights: CatalogFile[];
}

// Parameter counts and KV sizes follow from the configurations in OPENELM.md (layer-wise scaling,
// tied embedding); the smaller two ship one F32 file, the larger two are sharded behind an index.
const FAMILIES: Family[] = [
  {
    size: "270M",
    name: "270M",
    parameters: 271_527_168,
    layers: 16,
    modelDim: 1280,
    kvBytesPerToken: 32_256,
    weights: [{ path: "model.safetensors", bytes: 1_086_000_000 }],
  },
  {
    size: "450M",
    name: "450M",
    parameters: 457_179_136,
    layers: 20,
    modelDim: 1536,
    kvBytesPerToken: 46_592,
    weights: [{ path: "model.safetensors", bytes: 1_829_000_000 }],
  },
  {
    size: "1.1B",
    name: "1_1B",
    parameters: 1_079_891_456,
    layers: 28,
    modelDim: 2048,
    kvBytesPerToken: 86_528,
    weights: [
      { path: "model.safetensors.index.json", bytes: 30_000 },
      { path: "model-00001-of-00002.safetensors", bytes: 4_000_000_000 },
      { path: "model-00002-of-00002.safetensors", bytes: 320_000_000 },
    ],
  },
  {
    size: "3B",
    name: "3B",
    parameters: 3_036_647_424,
    layers: 36,
    modelDim: 3072,
    kvBytesPerToken: 167_936,
    weights: [
      { path: "model.safetensors.index.json", bytes: 40_000 },
      { path: "model-00001-of-00003.safetensors", bytes: 4_950_000_000 },
      { path: "model-00002-of-00003.safetensors", bytes: 4_950_000_000 },
      { path: "model-00003-of-00003.safetensors", bytes: 2_250_000_000 },
    ],
  },
];

export const CATALOG: readonly CatalogEntry[] = FAMILIES.flatMap((family) =>
  [false, true].map((instruct) => {
    const suffix = instruct ? "-Instruct" : "";
    return {
      repoId: `apple/OpenELM-${family.name}${suffix}`,
      slug: `openelm-${family.name.toLowerCase()}${suffix.toLowerCase()}`,
      size: family.size,
      instruct,
      parameters: family.parameters,
      contextLength: 2048,
      layers: family.layers,
      modelDim: family.modelDim,
      kvBytesPerToken: family.kvBytesPerToken,
      files: [{ path: "config.json", bytes: 1_500 }, ...family.weights],
    };
  }),
);

/** The catalog entry for a repo id or slug (any case), if it is one of the published eight. */
export function findCatalogEntry(repoIdOrSlug: string): CatalogEntry | undefined {
  const key = repoIdOrSlug.toLowerCase();
  return CATALOG.find((e) => e.repoId.toLowerCase() === key || e.slug === key);
}

/**
 * Bytes per weight after conversion, as a session holds them. Quantized weights carry one fp32 scale
 * per block of 32 (MatMulNBits layout), and the tied embedding is stored once.
 */
const BYTES_PER_PARAMETER: Record<Precision, number> = { fp32: 4, int8: 1 + 4 / 32, int4: 0.5 + 4 / 32 };
/**
 * On disk, int8 also keeps its qkv_proj and proj_1 weights in the CPU's int8 GEMM layout (one byte a
 * weight; openelm/convert.ts): 55% of OpenELM-270M's weights, a little more in the larger models,
 * whose embedding is a smaller share. 0.62 covers them all (270M converts to 1.69 bytes a weight).
 */
const DISK_BYTES_PER_PARAMETER: Record<Precision, number> = {
  ...BYTES_PER_PARAMETER,
  int8: 1 + 4 / 32 + 0.62,
};

/** What onnxruntime, activations and the app's own buffers add beyond weights and cache (measured ~0.3-0.4 GB). */
const RUNTIME_OVERHEAD_BYTES = 350_000_000;

export interface Estimate {
  precision: Precision;
  /** The converted model on disk. */
  diskBytes: number;
  /** Resident memory while generating with a full context window. */
  memoryBytes: number;
  /** The original checkpoint as downloaded. */
  downloadBytes: number;
}

export function estimate(entry: CatalogEntry, precision: Precision = DEFAULT_PRECISION): Estimate {
  const diskBytes = Math.round(entry.parameters * DISK_BYTES_PER_PARAMETER[precision]);
  const weightBytes = entry.parameters * BYTES_PER_PARAMETER[precision];
  const memoryBytes = Math.round(
    weightBytes + entry.kvBytesPerToken * entry.contextLength + RUNTIME_OVERHEAD_BYTES,
  );
  const downloadBytes = entry.files.reduce((sum, f) => sum + f.bytes, 0);
  return { precision, diskBytes, memoryBytes, downloadBytes };
}

/** Converted size for a checkpoint we know only by its byte count (published weights are F32). */
export function estimateConvertedBytes(checkpointBytes: number, precision: Precision): number {
  return Math.round((checkpointBytes / 4) * DISK_BYTES_PER_PARAMETER[precision]);
}

/**
 * The model to offer first: 270M-Instruct, or the largest Instruct model whose estimated memory at
 * the chosen precision stays within a sixteenth of the machine's RAM. A desktop runs a browser and
 * more beside us, and a larger model also costs a much longer first download (3B is 12 GB), so the
 * bar is high: 16 GB gets 450M, 32 GB 1.1B, 64 GB 3B. On the CPU, decoding slows in proportion to the
 * model's size (270M int4 runs at about 55 tok/s on 2 cores, 1.1B would be near 14), so a machine with
 * fewer than 8 logical CPUs is offered 270M-Instruct whatever its memory.
 */
export function recommendedModel(
  totalMemoryBytes: number = totalmem(),
  precision: Precision = DEFAULT_PRECISION,
  logicalCpus: number = availableParallelism(),
): CatalogEntry {
  const instruct = CATALOG.filter((e) => e.instruct);
  let choice = instruct[0];
  if (logicalCpus < 8) return choice;
  for (const entry of instruct) {
    if (estimate(entry, precision).memoryBytes <= totalMemoryBytes / 16) choice = entry;
  }
  return choice;
}

/** "1.09 GB", "512 MB": sizes for people (decimal units, as disks and the hub report them). */
export function formatBytes(bytes: number): string {
  if (bytes >= GB) return `${(bytes / GB).toFixed(2)} GB`;
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  if (bytes >= 1_000) return `${(bytes / 1_000).toFixed(1)} kB`;
  return `${bytes} B`;
}
