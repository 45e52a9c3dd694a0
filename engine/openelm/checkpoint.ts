/**
 * Opening a Hugging Face OpenELM checkpoint folder: config.json plus model.safetensors (or shards with
 * model.safetensors.index.json). Every tensor the model needs is checked by name and shape up front,
 * so a wrong checkpoint fails at the tensor that is wrong; weights are read later, one tensor at a time.
 */
import type { FileHandle } from "node:fs/promises";
import { open, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { ElmwoodError } from "../errors.ts";
import { type OpenElmConfig, parseOpenElmConfig } from "./config.ts";
import { type FloatDtype, isFloatDtype, readFloat32Tensor, readSafetensorsHeader } from "./safetensors.ts";

export interface TensorInfo {
  name: string;
  dtype: FloatDtype;
  shape: number[];
  /** Absolute path of the file that holds it. */
  file: string;
  /** Absolute byte position in that file. */
  offset: number;
  byteLength: number;
}

export interface Checkpoint {
  dir: string;
  config: OpenElmConfig;
  rawConfig: Record<string, unknown>;
  tensors: ReadonlyMap<string, TensorInfo>;
  totalBytes: number;
  /** Reads just that tensor from disk and converts it to float32. */
  readTensor(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

const SINGLE_FILE = "model.safetensors";
const INDEX_FILE = "model.safetensors.index.json";

/** Every tensor an OpenELM checkpoint holds, in forward order (the output layer is tied: no lm_head). */
export function expectedTensors(config: OpenElmConfig): { name: string; shape: number[] }[] {
  const d = config.modelDim;
  const h = config.headDim;
  const tensors = [{ name: "transformer.token_embeddings.weight", shape: [config.vocabSize, d] }];
  config.layers.forEach((layer, i) => {
    const at = `transformer.layers.${i}`;
    tensors.push(
      { name: `${at}.attn_norm.weight`, shape: [d] },
      // rows: queries, then keys, then values
      { name: `${at}.attn.qkv_proj.weight`, shape: [(layer.queryHeads + 2 * layer.kvHeads) * h, d] },
      { name: `${at}.attn.q_norm.weight`, shape: [h] },
      { name: `${at}.attn.k_norm.weight`, shape: [h] },
      { name: `${at}.attn.out_proj.weight`, shape: [d, layer.queryHeads * h] },
      { name: `${at}.ffn_norm.weight`, shape: [d] },
      // rows: gate, then up
      { name: `${at}.ffn.proj_1.weight`, shape: [2 * layer.ffnDim, d] },
      { name: `${at}.ffn.proj_2.weight`, shape: [d, layer.ffnDim] },
    );
  });
  tensors.push({ name: "transformer.norm.weight", shape: [d] });
  return tensors;
}

function bad(message: string, hint: string): ElmwoodError {
  return new ElmwoodError("CHECKPOINT", message, hint);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw bad(`Cannot read ${what} at ${path}: ${(error as Error).message}`, "Check the file's permissions.");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw bad(`${path} is not valid JSON: ${(error as Error).message}`, "Download the checkpoint again.");
  }
}

interface WeightFiles {
  /** File name to the tensor names the index maps to it (empty for the single file). */
  files: Map<string, string[]>;
  indexed: boolean;
}

/** Which file holds each tensor, from the shard index (or the single file). */
async function weightFiles(dir: string): Promise<WeightFiles> {
  const indexPath = join(dir, INDEX_FILE);
  if (await exists(indexPath)) {
    const index = await readJson(indexPath, "the shard index");
    const map = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== "object" || map === null || Array.isArray(map)) {
      throw bad(`${indexPath} has no "weight_map" object.`, "Download the checkpoint again.");
    }
    const byFile = new Map<string, string[]>();
    for (const [name, file] of Object.entries(map)) {
      // Shards live beside the index; a path elsewhere is a damaged or hostile index.
      if (typeof file !== "string" || file === "" || basename(file) !== file || file === "..") {
        throw bad(
          `${indexPath} maps "${name}" to ${JSON.stringify(file)}, not a file name.`,
          "Download the checkpoint again.",
        );
      }
      const names = byFile.get(file) ?? [];
      names.push(name);
      byFile.set(file, names);
    }
    return { files: byFile, indexed: true };
  }
  if (await exists(join(dir, SINGLE_FILE))) return { files: new Map([[SINGLE_FILE, []]]), indexed: false };
  const pickle = (await exists(join(dir, "pytorch_model.bin"))) || (await exists(join(dir, "model.bin")));
  throw bad(
    `${dir} has no ${SINGLE_FILE} or ${INDEX_FILE}.`,
    pickle
      ? "Only safetensors weights are supported; download the checkpoint's .safetensors files."
      : "Download the whole checkpoint, including its .safetensors weights.",
  );
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Collects every tensor from the weight files, checking the index agrees with what the shards hold. */
async function readTensorTable(dir: string, weights: WeightFiles): Promise<Map<string, TensorInfo>> {
  const sharded = weights.indexed;
  const tensors = new Map<string, TensorInfo>();
  for (const [file, mapped] of weights.files) {
    const path = join(dir, file);
    if (!(await exists(path))) {
      throw bad(
        `${path} is missing${sharded ? ` (listed in ${INDEX_FILE})` : ""}.`,
        "Download the missing file.",
      );
    }
    const header = await readSafetensorsHeader(path);
    const inFile = new Set<string>();
    for (const t of header.tensors) {
      inFile.add(t.name);
      const earlier = tensors.get(t.name);
      if (earlier) {
        throw bad(
          `Tensor "${t.name}" appears in both ${earlier.file} and ${path}.`,
          "Download the checkpoint again.",
        );
      }
      if (sharded && !mapped.includes(t.name)) {
        throw bad(
          `${path} holds "${t.name}", which ${INDEX_FILE} does not map to it.`,
          "Download the checkpoint again.",
        );
      }
      if (!isFloatDtype(t.dtype)) {
        throw bad(
          `Tensor "${t.name}" in ${path} is ${t.dtype}; Elmwood reads F32, F16 and BF16 weights.`,
          "Use the original apple/OpenELM-* checkpoint rather than a quantized export.",
        );
      }
      tensors.set(t.name, { ...t, dtype: t.dtype, file: path });
    }
    const absent = mapped.find((name) => !inFile.has(name));
    if (absent)
      throw bad(
        `${INDEX_FILE} maps "${absent}" to ${path}, but that file does not hold it.`,
        "Download the checkpoint again.",
      );
  }
  return tensors;
}

function checkTensors(tensors: Map<string, TensorInfo>, config: OpenElmConfig, dir: string): void {
  const expected = expectedTensors(config);
  const missing = expected.filter((e) => !tensors.has(e.name));
  if (missing.length > 0) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : "";
    throw bad(
      `The checkpoint in ${dir} has no tensor "${missing[0].name}"${more}.`,
      "The weights do not match config.json; download the checkpoint again.",
    );
  }
  for (const { name, shape } of expected) {
    const actual = (tensors.get(name) as TensorInfo).shape;
    if (actual.length !== shape.length || actual.some((v, i) => v !== shape[i])) {
      throw bad(
        `Tensor "${name}" has shape ${shapeText(actual)}, but config.json implies ${shapeText(shape)}.`,
        "The weights do not match config.json; make sure both come from the same checkpoint.",
      );
    }
  }
  const names = new Set(expected.map((e) => e.name));
  const extra = [...tensors.keys()].filter((name) => !names.has(name));
  if (extra.length > 0) {
    const more = extra.length > 1 ? ` (and ${extra.length - 1} more)` : "";
    const hint = extra.includes("lm_head.weight")
      ? "OpenELM ties its output layer to the token embeddings; a checkpoint with its own lm_head.weight is not one Elmwood can run faithfully."
      : "This does not look like an OpenELM checkpoint as Apple published it.";
    throw bad(`The checkpoint in ${dir} has an unexpected tensor "${extra[0]}"${more}.`, hint);
  }
}

/** Opens a checkpoint folder, checking config and every tensor's name and shape without reading weights. */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch {
    throw new ElmwoodError(
      "NOT_FOUND",
      `No checkpoint folder at ${dir}.`,
      "Check the path, or download the model first.",
    );
  }
  if (!info.isDirectory()) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `${dir} is a file, not a checkpoint folder.`,
      "Give the folder that holds config.json.",
    );
  }
  const configPath = join(dir, "config.json");
  if (!(await exists(configPath))) {
    throw bad(`${dir} has no config.json.`, "Download the whole checkpoint folder, including config.json.");
  }
  const rawJson = await readJson(configPath, "config.json");
  const config = parseOpenElmConfig(rawJson, configPath);
  const rawConfig = rawJson as Record<string, unknown>;

  const tensors = await readTensorTable(dir, await weightFiles(dir));
  checkTensors(tensors, config, dir);
  let totalBytes = 0;
  for (const t of tensors.values()) totalBytes += t.byteLength;

  return new OpenCheckpoint(dir, config, rawConfig, tensors, totalBytes);
}

class OpenCheckpoint implements Checkpoint {
  /** One handle per file, opened on first read and shared by concurrent reads (positional reads). */
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private closed = false;

  constructor(
    readonly dir: string,
    readonly config: OpenElmConfig,
    readonly rawConfig: Record<string, unknown>,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly totalBytes: number,
  ) {}

  async readTensor(name: string): Promise<Float32Array> {
    const tensor = this.tensors.get(name);
    if (!tensor) {
      throw new ElmwoodError("INTERNAL", `Reading tensor "${name}", which the checkpoint does not have.`);
    }
    if (this.closed)
      throw new ElmwoodError("INTERNAL", `Reading tensor "${name}" after the checkpoint was closed.`);
    let handle = this.handles.get(tensor.file);
    if (!handle) {
      handle = open(tensor.file, "r");
      this.handles.set(tensor.file, handle);
      // Keep a failed open from surfacing as an unhandled rejection; the await below reports it.
      handle.catch(() => this.handles.delete(tensor.file));
    }
    let opened: FileHandle;
    try {
      opened = await handle;
    } catch (error) {
      throw bad(
        `Cannot open ${tensor.file}: ${(error as Error).message}`,
        "Check the checkpoint folder is still there.",
      );
    }
    return readFloat32Tensor(opened, tensor, tensor.file);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(pending.map(async (h) => (await h.catch(() => undefined))?.close()));
  }
}
