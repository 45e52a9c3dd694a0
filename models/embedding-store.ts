/**
 * Installed embedding models: one folder each in the model store, holding the hub's files as
 * published (no conversion: onnxruntime reads the ONNX export as it is) plus `embedding.json`, which
 * records where they came from, how the model pools and normalizes, and each file's size and sha256.
 * OpenELM models are told apart by their own manifest.json, so neither listing sees the other's.
 *
 * Installing is atomic: the files are checked by loading the model and embedding a probe in a
 * staging folder, which is then renamed into place.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { OnnxEmbedder } from "../engine/documents/embedding/embedder.ts";
import { readEmbeddingModel } from "../engine/documents/embedding/model-files.ts";
import { cancelled, ElmwoodError } from "../engine/errors.ts";
import type { ElmwoodPaths } from "../engine/paths.ts";
import { findEmbeddingEntry } from "./embedding-catalog.ts";
import { readJsonFile, writeJsonAtomic } from "./json-file.ts";

export const EMBEDDING_MANIFEST = "embedding.json";

export interface EmbeddingManifest {
  format: 1;
  name: string;
  repoId: string;
  /** The commit the files were downloaded at. */
  revision: string;
  onnx: string;
  dims: number;
  maxTokens: number;
  pooling: "mean" | "cls";
  normalize: boolean;
  files: { path: string; bytes: number; sha256: string }[];
  createdAt: string;
}

export interface InstalledEmbedding extends EmbeddingManifest {
  dir: string;
  bytes: number;
  /** Names the vector space: vectors of another model or revision are never compared with these. */
  modelId: string;
  licence: string | null;
}

export interface BrokenEmbedding {
  name: string;
  dir: string;
  problem: string;
}

async function sha256Of(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Reads an installed model's record and checks that its files are all there at their sizes. */
export async function readInstalledEmbedding(dir: string): Promise<InstalledEmbedding> {
  const manifest = await readJsonFile<EmbeddingManifest>(join(dir, EMBEDDING_MANIFEST));
  if (manifest?.format !== 1 || !Array.isArray(manifest.files)) {
    throw new ElmwoodError(
      "MODEL",
      `${dir} holds no readable ${EMBEDDING_MANIFEST}.`,
      "Remove the embedding model and download it again.",
    );
  }
  for (const file of manifest.files) {
    const size = await stat(join(dir, file.path)).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== file.bytes) {
      throw new ElmwoodError(
        "MODEL",
        size < 0
          ? `${file.path} of the embedding model ${manifest.name} is missing.`
          : `${file.path} of the embedding model ${manifest.name} is ${size} bytes, not ${file.bytes}.`,
        `Remove it ('elmwood models rm ${manifest.name}') and download it again.`,
      );
    }
  }
  return {
    ...manifest,
    dir,
    bytes: manifest.files.reduce((sum, f) => sum + f.bytes, 0),
    modelId: `${manifest.repoId}@${manifest.revision}`,
    licence: findEmbeddingEntry(manifest.repoId)?.licence ?? null,
  };
}

/** Every folder of the store that holds an embedding model, readable or not. */
export async function listEmbeddings(
  paths: ElmwoodPaths,
): Promise<{ models: InstalledEmbedding[]; broken: BrokenEmbedding[] }> {
  const out = { models: [] as InstalledEmbedding[], broken: [] as BrokenEmbedding[] };
  const entries = await readdir(paths.models, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const dir = join(paths.models, entry.name);
    const present = await stat(join(dir, EMBEDDING_MANIFEST)).then(
      () => true,
      () => false,
    );
    if (!present) continue;
    try {
      out.models.push(await readInstalledEmbedding(dir));
    } catch (error) {
      out.broken.push({ name: entry.name, dir, problem: (error as Error).message });
    }
  }
  return out;
}

export async function isEmbeddingFolder(dir: string): Promise<boolean> {
  return stat(join(dir, EMBEDDING_MANIFEST)).then(
    () => true,
    () => false,
  );
}

export interface InstallOptions {
  /** The downloaded repository folder; its files are moved, not copied. */
  sourceDir: string;
  files: string[];
  onnx: string;
  repoId: string;
  revision: string;
  name: string;
  paths: ElmwoodPaths;
  force?: boolean;
  signal?: AbortSignal;
}

/**
 * Moves the downloaded files into a staging folder, checks that the model loads and embeds, records
 * it, and renames it into place (replacing an installed one only with `force`).
 */
export async function installEmbedding(options: InstallOptions): Promise<InstalledEmbedding> {
  const target = join(options.paths.models, options.name);
  if (!options.force && (await isEmbeddingFolder(target))) return readInstalledEmbedding(target);
  const staging = join(options.paths.models, `.import-${options.name}-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  const moved: string[] = [];
  try {
    const files: EmbeddingManifest["files"] = [];
    for (const path of options.files) {
      if (options.signal?.aborted) throw cancelled("The installation");
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await rename(join(options.sourceDir, path), join(staging, path));
      moved.push(path);
      files.push({
        path,
        bytes: (await stat(join(staging, path))).size,
        sha256: await sha256Of(join(staging, path), options.signal),
      });
    }
    const described = await readEmbeddingModel(staging, options.onnx);
    // The proof that these files are a working model: it loads and turns a sentence into a vector.
    const embedder = await OnnxEmbedder.load(staging, { onnx: options.onnx });
    try {
      const [probe] = await embedder.embed(["Elmwood checks that the model works."]);
      if (probe.length !== described.dims || !probe.every(Number.isFinite)) {
        throw new ElmwoodError(
          "MODEL",
          `${options.repoId} gave a vector of width ${probe.length} (its files say ${described.dims}).`,
          "Choose the model from 'elmwood models catalog'.",
        );
      }
    } finally {
      await embedder.close();
    }
    const manifest: EmbeddingManifest = {
      format: 1,
      name: options.name,
      repoId: options.repoId,
      revision: options.revision,
      onnx: options.onnx,
      dims: described.dims,
      maxTokens: described.maxTokens,
      pooling: described.pooling,
      normalize: described.normalize,
      files,
      createdAt: new Date().toISOString(),
    };
    await writeJsonAtomic(join(staging, EMBEDDING_MANIFEST), manifest);
    const old = `${staging}.old`;
    const replacing = await stat(target).then(
      () => true,
      () => false,
    );
    if (replacing) await rename(target, old);
    await rename(staging, target);
    if (replacing) await rm(old, { recursive: true, force: true });
    moved.length = 0;
    return readInstalledEmbedding(target);
  } catch (error) {
    // The verified download goes back where it was, so a cancelled install resumes without the network.
    for (const path of moved)
      await rename(join(staging, path), join(options.sourceDir, path)).catch(() => undefined);
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export async function removeEmbedding(paths: ElmwoodPaths, name: string): Promise<void> {
  const dir = join(paths.models, name);
  if (!(await isEmbeddingFolder(dir))) {
    throw new ElmwoodError(
      "NOT_FOUND",
      `No embedding model named '${name}' is installed.`,
      "See 'elmwood models list'.",
    );
  }
  // Renamed out of the way first, so a half-deleted folder is never taken for a model.
  const doomed = join(paths.models, `.removing-${name}-${process.pid}`);
  await rename(dir, doomed);
  await rm(doomed, { recursive: true, force: true });
}
