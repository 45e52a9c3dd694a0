/**
 * manifest.json: what a converted Elmwood model folder holds and where it came from. It is written
 * last, inside the temporary folder that is renamed into place, so a folder with a manifest is whole.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ElmwoodError } from "../errors.ts";
import { type OpenElmConfig, parseOpenElmConfig } from "./config.ts";
import { PRECISIONS, type Precision } from "./graph.ts";

export const MANIFEST_FILE = "manifest.json";
/** The graph with GroupQueryAttention, for GPU providers (and the source of the CPU's graph in older models). */
export const MODEL_FILE = "model.onnx";
/**
 * The graph with ONNX Attention over a head-major cache view, for the CPU (engine/openelm/graph.ts
 * says why). The name changed with the cache's layout: a folder holding only the first layout's
 * model-cpu.onnx has its CPU graph built in memory from model.onnx (openelm/cpu-graph.ts).
 */
export const CPU_MODEL_FILE = "model-cpu-2.onnx";
export const DATA_FILE = "model.onnx.data";
export const MANIFEST_FORMAT = "elmwood-openelm";
export const MANIFEST_VERSION = 1;

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ModelManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  name: string;
  /** The checkpoint it was converted from: a folder, and the hub repo when known. */
  source: { path: string; repoId?: string; revision?: string };
  precision: Precision;
  /** The checkpoint's config.json as published (the derived per-layer shapes are in `layers`). */
  config: Record<string, unknown>;
  layers: OpenElmConfig["layers"];
  tokenizer: { kind: "llama2-sentencepiece"; vocabSize: number; bosId: number; eosId: number };
  contextLength: number;
  /**
   * blockSize: the blocks MatMulNBits reads. scales: "row" where each row's blocks share one scale
   * (int8 from now on, so the CPU's int8 GEMM reads the same numbers); absent in older int8 models,
   * which have a scale per block, as int4 has.
   */
  quantization?: { bits: 4 | 8; blockSize: number; symmetric: true; scales?: "row" };
  files: ManifestFile[];
  createdAt: string;
}

export interface LoadedManifest {
  manifest: ModelManifest;
  config: OpenElmConfig;
}

function bad(dir: string, what: string): ElmwoodError {
  return new ElmwoodError(
    "MODEL",
    `${dir} is not a usable Elmwood model: ${what}.`,
    "Convert the checkpoint again with 'elmwood convert', or import it again from the Models page.",
  );
}

/** Reads and checks a converted model folder: manifest shape, config, and every file's size. */
export async function readManifest(dir: string): Promise<LoadedManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new ElmwoodError(
        "NOT_FOUND",
        `No Elmwood model at ${dir} (no ${MANIFEST_FILE}).`,
        "Give the folder that 'elmwood convert' wrote, or a model name from 'elmwood models list'.",
      );
    }
    throw bad(dir, `${MANIFEST_FILE} cannot be read (${code})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad(dir, `${MANIFEST_FILE} is not valid JSON`);
  }
  const m = raw as Partial<ModelManifest>;
  if (typeof m !== "object" || m === null || m.format !== MANIFEST_FORMAT)
    throw bad(dir, "the manifest's format is not elmwood-openelm");
  if (m.version !== MANIFEST_VERSION)
    throw bad(dir, `manifest version ${String(m.version)} is not supported`);
  if (!PRECISIONS.includes(m.precision as Precision))
    throw bad(dir, `unknown precision ${String(m.precision)}`);
  if (!Array.isArray(m.files) || m.files.length === 0) throw bad(dir, "the manifest lists no files");
  const config = parseOpenElmConfig(m.config, join(dir, MANIFEST_FILE));
  for (const file of m.files) {
    if (typeof file?.path !== "string" || file.path.includes("..") || typeof file.bytes !== "number") {
      throw bad(dir, "the manifest's file list is malformed");
    }
    const size = await stat(join(dir, file.path)).then(
      (s) => s.size,
      () => -1,
    );
    if (size < 0) throw bad(dir, `${file.path} is missing`);
    if (size !== file.bytes) throw bad(dir, `${file.path} is ${size} bytes, the manifest says ${file.bytes}`);
  }
  return { manifest: m as ModelManifest, config };
}
