/**
 * `npm run bench -- --suite accuracy`: what each quantized format costs in accuracy against fp32, on
 * the random test checkpoints (the small 4-layer one and the OpenELM-270M-shaped one). For each
 * precision and block size: the weights' relative RMS quantization error, and over 12 teacher-forced
 * positions of a fixed sequence the logits' cosine similarity with the float64 reference on the
 * original weights and how often the top token is the same. The fp32 model is measured the same way,
 * so its row shows what the kernels alone contribute.
 *
 * Random checkpoints amplify weight noise layer after layer far more than trained weights do, so
 * these figures compare formats with each other; they do not predict trained OpenELM quality.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint } from "../engine/openelm/checkpoint.ts";
import { convertCheckpoint } from "../engine/openelm/convert.ts";
import type { BlockSize, Precision } from "../engine/openelm/graph.ts";
import { dequantize, quantizeWeights } from "../engine/openelm/quantize.ts";
import { ModelSession } from "../engine/runtime/model-session.ts";
import {
  OPENELM_270M_SHAPE,
  type RandomCheckpointOptions,
  SMALL_OPENELM,
  writeRandomCheckpoint,
} from "../test/support/random-checkpoint.ts";
import { ReferenceModel } from "../test/support/reference.ts";

const FORMATS: { precision: Precision; blockSize?: BlockSize }[] = [
  { precision: "fp32" },
  // int8 has one scale per row whatever its block size (quantize.ts): one row of the table.
  { precision: "int8", blockSize: 32 },
  { precision: "int4", blockSize: 32 },
  { precision: "int4", blockSize: 64 },
  { precision: "int4", blockSize: 128 },
];
const SHAPES: { name: string; options: RandomCheckpointOptions }[] = [
  { name: "small (4 layers, d 256)", options: { ...SMALL_OPENELM, seed: 7 } },
  { name: "270M shape (16 layers, d 1280)", options: { ...OPENELM_270M_SHAPE, seed: 270 } },
];
const POSITIONS = 12;
const SEQUENCE = [1, ...Array.from({ length: 11 + POSITIONS }, (_, i) => 300 + ((i * 7919) % 29000))];

export interface AccuracyRow {
  shape: string;
  precision: Precision;
  blockSize: number | null;
  weightRelativeRmsError: number;
  meanCosine: number;
  worstCosine: number;
  topOneAgreement: number;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Relative RMS error of every matrix after quantizing and dequantizing it. */
async function weightError(checkpointDir: string, bits: 4 | 8, blockSize: BlockSize): Promise<number> {
  const checkpoint = await openCheckpoint(checkpointDir);
  let error = 0;
  let norm = 0;
  try {
    for (const [name, info] of checkpoint.tensors) {
      if (info.shape.length !== 2) continue;
      const w = await checkpoint.readTensor(name);
      const back = dequantize(quantizeWeights(w, info.shape[0], info.shape[1], bits, blockSize));
      for (let i = 0; i < w.length; i++) {
        error += (back[i] - w[i]) ** 2;
        norm += w[i] ** 2;
      }
    }
  } finally {
    await checkpoint.close();
  }
  return Math.sqrt(error / norm);
}

export async function benchAccuracy(cache: string, threads: number): Promise<AccuracyRow[]> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const rows: AccuracyRow[] = [];
  for (const shape of SHAPES) {
    const checkpoint = join(
      cache,
      `accuracy-${shape.options.numLayers}x${shape.options.modelDim}`,
      "checkpoint",
    );
    if (!existsSync(join(checkpoint, "config.json"))) {
      await mkdir(checkpoint, { recursive: true });
      await writeRandomCheckpoint(checkpoint, shape.options);
    }
    log(`accuracy: the float64 reference over ${SEQUENCE.length} tokens of the ${shape.name}...`);
    const reference = (await ReferenceModel.load(checkpoint)).forward(SEQUENCE).slice(-POSITIONS);
    for (const format of FORMATS) {
      // The suffix changes with the stored format (v7: int8 with a scale per row), as the engine suite's.
      const model = join(checkpoint, "..", `${format.precision}-b${format.blockSize ?? 0}-v7`);
      if (!existsSync(join(model, "manifest.json"))) {
        log(
          `accuracy: converting to ${format.precision}${format.blockSize ? ` block ${format.blockSize}` : ""}...`,
        );
        await convertCheckpoint(checkpoint, model, {
          precision: format.precision,
          blockSize: format.blockSize,
        });
      }
      const session = await ModelSession.load(model, { provider: "cpu", threads });
      let sum = 0;
      let worst = 1;
      let agree = 0;
      try {
        for (let p = 0; p < POSITIONS; p++) {
          const prefix = SEQUENCE.slice(0, SEQUENCE.length - POSITIONS + p + 1);
          const { logits } = await session.logitsFor(prefix);
          const c = cosine(logits, reference[p]);
          sum += c;
          worst = Math.min(worst, c);
          if (argmax(logits) === argmax(reference[p])) agree++;
        }
      } finally {
        await session.close();
      }
      const bits = format.precision === "int4" ? 4 : format.precision === "int8" ? 8 : 0;
      rows.push({
        shape: shape.name,
        precision: format.precision,
        blockSize: format.blockSize ?? null,
        weightRelativeRmsError:
          bits && format.blockSize ? await weightError(checkpoint, bits, format.blockSize) : 0,
        meanCosine: sum / POSITIONS,
        worstCosine: worst,
        topOneAgreement: agree / POSITIONS,
      });
    }
  }
  return rows;
}

export function accuracyTable(rows: AccuracyRow[]): string {
  const header = ["shape", "format", "weight RMS error", "mean cosine", "worst cosine", "top-1 same"];
  const cells = rows.map((r) => [
    r.shape,
    r.precision === "int8"
      ? "int8, a scale per row"
      : r.blockSize
        ? `${r.precision} block ${r.blockSize}`
        : r.precision,
    `${(r.weightRelativeRmsError * 100).toFixed(2)}%`,
    r.meanCosine.toFixed(4),
    r.worstCosine.toFixed(4),
    `${Math.round(r.topOneAgreement * POSITIONS)}/${POSITIONS}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}
