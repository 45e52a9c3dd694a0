/**
 * Checkpoint -> Elmwood model: builds the graph for the checkpoint's config, streams each weight from
 * the safetensors files through its transform (transpose for fp32 MatMul, quantization for int8/int4:
 * quantize.ts) into external data, then writes model.onnx, model-cpu-2.onnx and manifest.json. The
 * graphs share one data file; a tensor only the CPU's int8 GEMM reads is stored in its layout beside
 * the one the GPU graph's MatMulNBits reads. Everything is written in a
 * temporary sibling folder that is renamed into place at the end, so a crash or a cancel never leaves
 * a half model that looks whole.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ElmwoodError, throwIfAborted } from "../errors.ts";
import { DataType, type GraphBuilder } from "../onnx/graph-builder.ts";
import { type Checkpoint, openCheckpoint } from "./checkpoint.ts";
import { ExternalDataWriter } from "./external-data.ts";
import {
  type BlockSize,
  buildOpenElmGraph,
  defaultBlockSize,
  initializerNames,
  type Precision,
  type WeightJob,
} from "./graph.ts";
import {
  CPU_MODEL_FILE,
  DATA_FILE,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  MODEL_FILE,
  type ModelManifest,
} from "./manifest.ts";
import { type QuantBits, quantizeWeights, rowsAsBlocks, rowsAsGemm } from "./quantize.ts";

export type { ModelManifest } from "./manifest.ts";
export { readManifest } from "./manifest.ts";

export interface ConversionProgress {
  phase: "weights" | "graph" | "finish";
  /** Units done and in total: weight bytes read for "weights", steps otherwise. */
  done: number;
  total: number;
  /** The checkpoint tensor being converted, during "weights". */
  tensor?: string;
}

export interface ConvertOptions {
  precision: Precision;
  /** Quantization block size for int8/int4 (default: defaultBlockSize(precision)). */
  blockSize?: BlockSize;
  signal?: AbortSignal;
  onProgress?: (progress: ConversionProgress) => void;
  /** Model name for the manifest; defaults to the output folder's name. */
  name?: string;
  /** Where the checkpoint came from, when it was downloaded. */
  repoId?: string;
  revision?: string;
  /** Replace an existing model at outDir (the old one is removed only after the new one is in place). */
  overwrite?: boolean;
}

const floatBytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  }
  return out;
}

/** Reads one checkpoint tensor and adds the initializers its job calls for to the graphs that read them. */
async function materialize(
  job: WeightJob,
  checkpoint: Checkpoint,
  graphs: readonly GraphBuilder[],
  data: ExternalDataWriter,
  bits: QuantBits | 0,
  blockSize: BlockSize,
): Promise<void> {
  const w = await checkpoint.readTensor(job.source);
  const names = initializerNames(job);
  const readers = (name: string) => graphs.filter((graph) => graph.reads(name));
  // A tensor two graphs read is stored once; one no graph reads is not stored.
  const add = (spec: Parameters<GraphBuilder["initializer"]>[0]) => {
    for (const graph of readers(spec.name)) graph.initializer(spec);
  };
  if (job.kind === "vector") {
    const scaled = job.scale === undefined ? w : w.map((x) => x * (job.scale as number));
    add({ name: names.data, dataType: DataType.FLOAT, dims: [job.length], raw: floatBytes(scaled) });
    return;
  }
  if (bits === 0) {
    // MatMul wants [in, out]; the embedding stays [vocab, d] for Gather and the transB Gemm head.
    const matrix = job.kind === "linear" ? transpose(w, job.rows, job.cols) : w;
    const dims = job.kind === "linear" ? [job.cols, job.rows] : [job.rows, job.cols];
    add({
      name: names.data,
      dataType: DataType.FLOAT,
      dims,
      external: await data.append(floatBytes(matrix)),
    });
    return;
  }
  const quantized = quantizeWeights(w, job.rows, job.cols, bits, blockSize);
  if (readers(names.gemm).length > 0) {
    const gemm = rowsAsGemm(quantized);
    add({
      name: names.gemm,
      dataType: DataType.INT8,
      dims: [job.cols, job.rows],
      external: await data.append(new Uint8Array(gemm.data.buffer)),
    });
    add({
      name: names.gemmScales,
      dataType: DataType.FLOAT,
      dims: [job.rows],
      external: await data.append(floatBytes(gemm.scales)),
    });
  }
  if (readers(names.data).length === 0) return;
  const q = bits === 8 ? rowsAsBlocks(quantized, blockSize) : quantized;
  const bytesPerBlock = (blockSize * bits) / 8;
  add({
    name: names.data,
    dataType: DataType.UINT8,
    dims: [job.rows, q.blocksPerRow, bytesPerBlock],
    external: await data.append(q.data),
  });
  const scales = await data.append(floatBytes(q.scales));
  add({ name: names.scales, dataType: DataType.FLOAT, dims: [job.rows * q.blocksPerRow], external: scales });
  if (job.kind === "embedding") {
    // GatherBlockQuantized reads the same scales shaped like its data's blocks; same bytes on disk.
    add({
      name: names.gatherScales,
      dataType: DataType.FLOAT,
      dims: [job.rows, q.blocksPerRow, 1],
      external: scales,
    });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function convertCheckpoint(
  sourceDir: string,
  outDir: string,
  options: ConvertOptions,
): Promise<ModelManifest> {
  const { precision, signal, onProgress } = options;
  const target = resolve(outDir);
  if (!options.overwrite && (await exists(target))) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `${target} already exists.`,
      "Choose a new output folder, or remove the old one first.",
    );
  }
  const checkpoint = await openCheckpoint(sourceDir);
  const temp = join(
    dirname(target),
    `.${basename(target)}.partial-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  let data: ExternalDataWriter | undefined;
  try {
    await mkdir(temp, { recursive: true });
    const bits = precision === "int4" ? 4 : precision === "int8" ? 8 : 0;
    const blockSize = options.blockSize ?? defaultBlockSize(precision);
    const { builder, weights } = buildOpenElmGraph(checkpoint.config, precision, blockSize, "grouped");
    const cpuGraph = buildOpenElmGraph(checkpoint.config, precision, blockSize, "standard").builder;
    data = await ExternalDataWriter.create(join(temp, DATA_FILE), DATA_FILE);

    const total = checkpoint.totalBytes;
    let done = 0;
    for (const job of weights) {
      throwIfAborted(signal, "Conversion");
      onProgress?.({ phase: "weights", done, total, tensor: job.source });
      await materialize(job, checkpoint, [builder, cpuGraph], data, bits, blockSize);
      done += checkpoint.tensors.get(job.source)?.byteLength ?? 0;
    }
    onProgress?.({ phase: "weights", done: total, total });
    throwIfAborted(signal, "Conversion");

    onProgress?.({ phase: "graph", done: 0, total: 1 });
    const dataFile = await data.close();
    data = undefined;
    const graphFiles: ModelManifest["files"] = [];
    for (const [file, graph] of [
      [MODEL_FILE, builder],
      [CPU_MODEL_FILE, cpuGraph],
    ] as const) {
      const bytes = graph.encode({ "elmwood.precision": precision });
      await writeFile(join(temp, file), bytes);
      graphFiles.push({
        path: file,
        bytes: bytes.byteLength,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      });
    }
    onProgress?.({ phase: "graph", done: 1, total: 1 });

    const manifest: ModelManifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      name: options.name ?? basename(target),
      source: {
        path: resolve(sourceDir),
        ...(options.repoId ? { repoId: options.repoId } : {}),
        ...(options.revision ? { revision: options.revision } : {}),
      },
      precision,
      config: checkpoint.rawConfig,
      layers: checkpoint.config.layers,
      tokenizer: {
        kind: "llama2-sentencepiece",
        vocabSize: checkpoint.config.vocabSize,
        bosId: checkpoint.config.bosTokenId,
        eosId: checkpoint.config.eosTokenId,
      },
      contextLength: checkpoint.config.maxContextLength,
      ...(bits
        ? {
            quantization: {
              bits,
              blockSize,
              symmetric: true as const,
              ...(bits === 8 ? { scales: "row" as const } : {}),
            },
          }
        : {}),
      files: [...graphFiles, { path: DATA_FILE, ...dataFile }],
      createdAt: new Date().toISOString(),
    };
    throwIfAborted(signal, "Conversion");
    onProgress?.({ phase: "finish", done: 0, total: 1 });
    await writeFile(join(temp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await publish(temp, target);
    onProgress?.({ phase: "finish", done: 1, total: 1 });
    return manifest;
  } catch (error) {
    await data?.abandon();
    await rm(temp, { recursive: true, force: true });
    throw error;
  } finally {
    await checkpoint.close();
  }
}

/** Moves the finished folder into place; an old model there is removed only once the new one is in. */
async function publish(temp: string, target: string): Promise<void> {
  if (!(await exists(target))) {
    await rename(temp, target);
    return;
  }
  const old = `${temp}.old`;
  await rename(target, old);
  await rename(temp, target);
  await rm(old, { recursive: true, force: true });
}
