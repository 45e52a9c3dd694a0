/**
 * Small converted models for engine tests: one random checkpoint, converted once per precision into a
 * temp folder, with the float64 reference over the original and over the dequantized weights.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../engine/openelm/checkpoint.ts";
import { convertCheckpoint } from "../../engine/openelm/convert.ts";
import { type BlockSize, defaultBlockSize, type Precision } from "../../engine/openelm/graph.ts";
import { dequantize, quantizeWeights } from "../../engine/openelm/quantize.ts";
import { type RandomCheckpointOptions, SMALL_OPENELM, writeRandomCheckpoint } from "./random-checkpoint.ts";
import { ReferenceModel } from "./reference.ts";

export interface EngineFixture {
  root: string;
  checkpoint: string;
  models: Record<Precision, string>;
  reference: ReferenceModel;
  cleanup(): Promise<void>;
}

export async function makeEngineFixture(
  precisions: Precision[] = ["fp32", "int8", "int4"],
  options: RandomCheckpointOptions = { ...SMALL_OPENELM, seed: 7 },
): Promise<EngineFixture> {
  const root = await mkdtemp(join(tmpdir(), "elmwood-engine-"));
  const checkpoint = join(root, "checkpoint");
  await writeRandomCheckpoint(checkpoint, options);
  const models = {} as Record<Precision, string>;
  for (const precision of precisions) {
    models[precision] = join(root, precision);
    await convertCheckpoint(checkpoint, models[precision], { precision });
  }
  return {
    root,
    checkpoint,
    models,
    reference: await ReferenceModel.load(checkpoint),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * The reference over the weights a quantized model actually holds: every matrix quantized and
 * dequantized exactly as the converter does (norm weights stay float).
 */
export async function dequantizedReference(
  checkpointDir: string,
  bits: 4 | 8,
  blockSize: BlockSize = defaultBlockSize(bits === 4 ? "int4" : "int8"),
): Promise<ReferenceModel> {
  const checkpoint = await openCheckpoint(checkpointDir);
  try {
    const weights = new Map<string, Float64Array>();
    for (const [name, info] of checkpoint.tensors) {
      const w = await checkpoint.readTensor(name);
      if (info.shape.length === 2) {
        const [rows, cols] = info.shape;
        weights.set(name, Float64Array.from(dequantize(quantizeWeights(w, rows, cols, bits, blockSize))));
      } else {
        weights.set(name, Float64Array.from(w));
      }
    }
    return ReferenceModel.fromWeights(checkpoint.config, weights);
  } finally {
    await checkpoint.close();
  }
}

/** max |a - b| / max |b|: the error measure used throughout (relative to the largest reference logit). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

export function argmaxOf(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** A prompt of plain word tokens (no control ids besides BOS). */
export const PROMPT = [1, 15043, 3186, 29892, 445, 338, 263, 1243, 310, 278, 6012, 29889];
