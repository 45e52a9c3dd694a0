/**
 * The model store: one converted model per folder under elmwoodPaths().models, named by its folder,
 * plus the default model's name in a small JSON file. Folders starting with "." are work in
 * progress (conversions, imports, locks) and are never listed.
 */
import { randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import { readdir, rename, rm, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { ElmwoodError } from "../engine/errors.ts";
import { countParameters } from "../engine/openelm/config.ts";
import type { Precision } from "../engine/openelm/graph.ts";
import { MANIFEST_FILE, type ManifestFile, readManifest } from "../engine/openelm/manifest.ts";
import { type ElmwoodPaths, elmwoodPaths } from "../engine/paths.ts";
import { readJsonFile, writeJsonAtomic } from "./json-file.ts";
import { isProcessAlive } from "./lock.ts";

const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const DEFAULT_FILE = ".default.json";
/** Work folders of the converter (".<name>.partial-<pid>-<hex>") and of this store; group 1 is the pid. */
const LEFTOVER = /^\.(?:.+?\.partial|import-.+?|removing-.+?)-(\d+)(?:-[0-9a-f]+)?(?:\.old)?$/;

export interface ModelSource {
  /** The checkpoint folder it was converted from. */
  path: string;
  repoId?: string;
  revision?: string;
  /** True when that folder is a download Elmwood made (and may delete); false for the user's own folder. */
  managed: boolean;
  /** Whether the checkpoint is still on disk. */
  present: boolean;
}

export interface StoredModel {
  name: string;
  dir: string;
  precision: Precision;
  /** Bytes of the converted model on disk. */
  bytes: number;
  parameters: number;
  contextLength: number;
  source: ModelSource;
  /** Each file of the converted model with its size and sha256, as recorded at conversion. */
  files: ManifestFile[];
  createdAt: string;
  isDefault: boolean;
}

export interface BrokenModel {
  name: string;
  dir: string;
  /** What is wrong, as readManifest reported it. */
  problem: string;
}

export interface StoreListing {
  models: StoredModel[];
  /** Folders with a manifest that no longer checks out (missing or truncated files). */
  broken: BrokenModel[];
}

/** True for names a store folder may have: lower case letters, digits, ".", "_", "-". */
export function isModelName(name: string): boolean {
  return NAME.test(name);
}

/** A store name from free text (a repo name, a folder name): lower-cased, other characters to "-". */
export function toModelName(text: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .replace(/-+$/, "")
    .slice(0, 90);
  return name || "model";
}

export function isInside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export class ModelStore {
  constructor(readonly paths: ElmwoodPaths = elmwoodPaths()) {}

  get root(): string {
    return this.paths.models;
  }

  modelDir(name: string): string {
    return join(this.paths.models, name);
  }

  /** The store folders that hold a manifest, by name (valid or not). */
  async names(): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return [];
      throw error;
    }
    const names: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !isModelName(entry.name)) continue;
      if (await exists(join(this.root, entry.name, MANIFEST_FILE))) names.push(entry.name);
    }
    return names.sort();
  }

  async has(name: string): Promise<boolean> {
    return isModelName(name) && (await exists(join(this.modelDir(name), MANIFEST_FILE)));
  }

  async list(): Promise<StoreListing> {
    const defaultName = await this.getDefault();
    const listing: StoreListing = { models: [], broken: [] };
    for (const name of await this.names()) {
      try {
        listing.models.push(await this.describe(name, defaultName));
      } catch (error) {
        const problem = error instanceof ElmwoodError ? error.message : String(error);
        listing.broken.push({ name, dir: this.modelDir(name), problem });
      }
    }
    return listing;
  }

  /** Everything known about one installed model; NOT_FOUND (listing what is installed) otherwise. */
  async inspect(name: string): Promise<StoredModel> {
    if (!(await this.has(name))) throw await this.notFound(name);
    return this.describe(name, await this.getDefault());
  }

  private describe(name: string, defaultName: string | undefined): Promise<StoredModel> {
    return this.describeAt(name, this.modelDir(name), defaultName);
  }

  /** A converted model in `dir` (in the store or not), described under `name`. */
  async describeAt(name: string, dir: string, defaultName: string | undefined): Promise<StoredModel> {
    const { manifest, config } = await readManifest(dir);
    const sourcePath = manifest.source?.path ?? "";
    return {
      name,
      dir,
      precision: manifest.precision,
      bytes: manifest.files.reduce((sum, f) => sum + f.bytes, 0),
      parameters: countParameters(config),
      contextLength: manifest.contextLength ?? config.maxContextLength,
      source: {
        path: sourcePath,
        ...(manifest.source?.repoId ? { repoId: manifest.source.repoId } : {}),
        ...(manifest.source?.revision ? { revision: manifest.source.revision } : {}),
        managed: sourcePath !== "" && isInside(this.paths.downloads, sourcePath),
        present: sourcePath !== "" && (await exists(join(sourcePath, "config.json"))),
      },
      files: manifest.files,
      createdAt: manifest.createdAt,
      isDefault: name === defaultName,
    };
  }

  /** The NOT_FOUND error for `name`, naming the models that are installed. */
  async notFound(name: string): Promise<ElmwoodError> {
    const names = await this.names();
    return new ElmwoodError(
      "NOT_FOUND",
      `No model named '${name}' is installed.`,
      names.length > 0
        ? `Installed: ${names.join(", ")}.`
        : "No models are installed yet: get one with 'elmwood models pull' (270M-Instruct by default).",
    );
  }

  /**
   * Removes a model. The folder is first renamed to a hidden name, so the model disappears at once
   * and a crash halfway through deleting leaves nothing that looks like a model.
   */
  async remove(name: string): Promise<void> {
    if (!(await this.has(name))) throw await this.notFound(name);
    const trash = join(this.root, `.removing-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
    await rename(this.modelDir(name), trash);
    if ((await readJsonFile<{ name?: string }>(join(this.root, DEFAULT_FILE)))?.name === name) {
      await rm(join(this.root, DEFAULT_FILE), { force: true });
    }
    await rm(trash, { recursive: true, force: true });
  }

  /**
   * Deletes what crashed or killed processes left behind: half-written conversions and imports, and
   * models half-deleted. Each such folder names its process; those of live processes are kept.
   */
  async sweepLeftovers(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    const swept: string[] = [];
    for (const entry of entries) {
      const owner = LEFTOVER.exec(entry.name);
      if (!entry.isDirectory() || !owner || isProcessAlive(Number(owner[1]))) continue;
      await rm(join(this.root, entry.name), { recursive: true, force: true });
      swept.push(entry.name);
    }
    return swept;
  }

  /** The default model: the one chosen, if still installed, else the only one installed. */
  async getDefault(): Promise<string | undefined> {
    const chosen = (await readJsonFile<{ name?: string }>(join(this.root, DEFAULT_FILE)))?.name;
    if (chosen && (await this.has(chosen))) return chosen;
    const names = await this.names();
    return names.length === 1 ? names[0] : undefined;
  }

  /** The name recorded as default, without the single-model fallback. */
  async chosenDefault(): Promise<string | undefined> {
    const chosen = (await readJsonFile<{ name?: string }>(join(this.root, DEFAULT_FILE)))?.name;
    return chosen && (await this.has(chosen)) ? chosen : undefined;
  }

  async setDefault(name: string): Promise<void> {
    if (!(await this.has(name))) throw await this.notFound(name);
    await writeJsonAtomic(join(this.root, DEFAULT_FILE), { name, chosenAt: new Date().toISOString() });
  }
}

/** What a --model value named: a converted model folder, and its store name when it is installed. */
export interface ModelTarget {
  dir: string;
  /** The store name; undefined for a folder outside the store. */
  name?: string;
}

/** The one line every --model (and every place that takes a model) says it accepts. */
const ACCEPTED =
  "an installed model's name (see 'elmwood models list') or the path of a converted model folder (made by 'elmwood convert')";

/**
 * The model a --model value names: a store name, a unique name prefix ("openelm-270m-instruct" for
 * "openelm-270m-instruct-int4"), a Hugging Face repo id of an installed model, or a converted model
 * folder. An empty value means the default model. Anything else is NOT_FOUND, saying what is accepted
 * and naming what is installed; a folder that is not a usable model says what is wrong with it.
 */
export async function resolveModel(
  nameOrPath: string,
  paths: ElmwoodPaths = elmwoodPaths(),
): Promise<ModelTarget> {
  const store = new ModelStore(paths);
  const value = nameOrPath.trim();
  const installed = () => store.names();
  const inStore = async (name: string): Promise<ModelTarget> => ({
    dir: await usable(store.modelDir(name)),
    name,
  });
  if (!value) {
    const name = await store.getDefault();
    if (!name) {
      const names = await installed();
      throw new ElmwoodError(
        "NOT_FOUND",
        names.length > 0 ? "No default model is chosen." : "No models are installed yet.",
        names.length > 0
          ? `Give a model with --model, or choose the default with 'elmwood models default <name>' (installed: ${names.join(", ")}).`
          : "Get one with 'elmwood models pull' (270M-Instruct by default), or give the path of a converted model folder with --model.",
      );
    }
    return inStore(name);
  }
  const lower = value.toLowerCase();
  if (isModelName(lower)) {
    if (await store.has(lower)) return inStore(lower);
    const prefixed = (await installed()).filter((n) => n.startsWith(`${lower}-`));
    if (prefixed.length === 1) return inStore(prefixed[0]);
  }
  const folder = resolve(value);
  if (
    await stat(folder).then(
      (s) => s.isDirectory(),
      () => false,
    )
  ) {
    if (await exists(join(folder, MANIFEST_FILE))) {
      // A store folder given by its path is that installed model.
      const name = basename(folder);
      const stored = resolve(store.modelDir(name)) === folder && (await store.has(name));
      return stored ? inStore(name) : { dir: await usable(folder) };
    }
    throw new ElmwoodError(
      "MODEL",
      (await exists(join(folder, "config.json")))
        ? `${folder} is a Hugging Face checkpoint that has not been converted yet.`
        : `${folder} is not an Elmwood model (it has no ${MANIFEST_FILE}).`,
      `Import it first with 'elmwood models import ${value}', then use the name it prints.`,
    );
  }
  if (value.includes("/")) {
    const { models } = await store.list();
    const fromRepo = models.filter((m) => m.source.repoId?.toLowerCase() === lower);
    const pick = fromRepo.length === 1 ? fromRepo[0] : fromRepo.find((m) => m.precision === "int4");
    if (pick) return { dir: pick.dir, name: pick.name };
  }
  const looksLikePath = /[\\/]/.test(value) || value.startsWith(".") || value.startsWith("~");
  const names = await installed();
  throw new ElmwoodError(
    "NOT_FOUND",
    looksLikePath
      ? `There is no model folder at ${folder}, and no installed model is named '${value}'.`
      : `No installed model is named '${value}', and there is no folder of that name.`,
    `Give ${ACCEPTED}. ${
      names.length > 0
        ? `Installed: ${names.join(", ")}.`
        : "No models are installed yet: get one with 'elmwood models pull' (270M-Instruct by default)."
    }`,
  );
}

/** The converted model folder a --model value names (see resolveModel). */
export async function resolveModelDir(
  nameOrPath: string,
  paths: ElmwoodPaths = elmwoodPaths(),
): Promise<string> {
  return (await resolveModel(nameOrPath, paths)).dir;
}

async function usable(dir: string): Promise<string> {
  await readManifest(dir);
  return dir;
}
