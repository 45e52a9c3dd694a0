/**
 * The model library: pull a model from the hub (download, verify, convert), import a folder, and
 * manage what is installed. The service, the local API and the CLI all go through this class.
 *
 * Long work takes an AbortSignal and reports LibraryProgress events. A pull holds a lock per
 * repository, so two processes pulling the same model never write the same files: the second
 * waits, then reuses what the first finished.
 */
import { copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { cancelled, ElmwoodError } from "../engine/errors.ts";
import { convertCheckpoint } from "../engine/openelm/convert.ts";
import { PRECISIONS, type Precision } from "../engine/openelm/graph.ts";
import { MANIFEST_FILE, readManifest } from "../engine/openelm/manifest.ts";
import { type ElmwoodPaths, elmwoodPaths } from "../engine/paths.ts";
import { DEFAULT_PRECISION, estimateConvertedBytes, findCatalogEntry } from "./catalog.ts";
import { ensureFreeSpace, type FreeSpaceProbe, freeSpaceOnDisk } from "./disk.ts";
import { downloadCheckpoint, isDownloadComplete, readDownloadState } from "./download.ts";
import { EMBEDDING_FILES, type EmbeddingCatalogEntry, findEmbeddingEntry } from "./embedding-catalog.ts";
import {
  type BrokenEmbedding,
  type InstalledEmbedding,
  installEmbedding,
  isEmbeddingFolder,
  listEmbeddings,
  removeEmbedding,
} from "./embedding-store.ts";
import type { HubFile } from "./hub-client.ts";
import { checkRepoId, HubClient, hubOptionsFromEnv } from "./hub-client.ts";
import { acquireLock, type HeldLock } from "./lock.ts";
import type { ProgressListener } from "./progress.ts";
import {
  isInside,
  isModelName,
  ModelStore,
  type StoredModel,
  type StoreListing,
  toModelName,
} from "./store.ts";

export interface LibraryOptions {
  paths?: ElmwoodPaths;
  hub?: HubClient;
  freeSpace?: FreeSpaceProbe;
  /** How long a pull waits for another process pulling the same repository. */
  lockTimeoutMs?: number;
  lockPollMs?: number;
  progressIntervalMs?: number;
}

export interface PullOptions {
  precision?: Precision;
  revision?: string;
  /** Store name; defaults to the repo's short name plus the precision, e.g. "openelm-270m-instruct-int4". */
  name?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Convert again even when the model is installed. */
  force?: boolean;
  /** Delete the downloaded checkpoint once the converted model is in place. */
  removeSource?: boolean;
}

export interface KeptSource {
  dir: string;
  bytes: number;
}

export interface PullResult {
  model: StoredModel;
  /** False when the model was already installed (by an earlier pull or another process). */
  converted: boolean;
  /** Bytes transferred by this pull. */
  fetchedBytes: number;
  /** The downloaded checkpoint kept beside the model: offer to remove it to free the space. */
  keptSource?: KeptSource;
}

export interface ImportOptions {
  precision?: Precision;
  name?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Replace an installed model of the same name. */
  force?: boolean;
}

export interface ImportResult {
  model: StoredModel;
  /** What the folder held: a Hugging Face checkpoint (converted) or an Elmwood model (copied). */
  kind: "checkpoint" | "elmwood";
}

export interface DownloadInfo {
  repoId: string;
  dir: string;
  revision: string;
  commit: string;
  /** True when every file is verified (a kept checkpoint); false for a paused or failed pull. */
  complete: boolean;
  presentBytes: number;
  totalBytes: number;
}

export interface RemoveResult {
  name: string;
  /** The downloaded checkpoint removed with it, if no other installed model was converted from it. */
  removedSource?: KeptSource;
}

export interface RemoveSourceResult {
  removed: boolean;
  dir: string;
  bytes: number;
}

export interface EmbeddingPullOptions {
  revision?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Download and install again even when installed. */
  force?: boolean;
}

export interface EmbeddingPullResult {
  model: InstalledEmbedding;
  /** False when it was already installed. */
  installed: boolean;
  fetchedBytes: number;
}

const noop = () => undefined;

/** "apple/OpenELM-270M-Instruct" at int4 -> "openelm-270m-instruct-int4". */
export function defaultModelName(repoId: string, precision: Precision): string {
  const slug = findCatalogEntry(repoId)?.slug ?? toModelName(repoId.split("/").pop() ?? repoId);
  return `${slug}-${precision}`;
}

function checkPrecision(value: string | undefined): Precision {
  const precision = value ?? DEFAULT_PRECISION;
  if (!(PRECISIONS as readonly string[]).includes(precision)) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `'${precision}' is not a precision Elmwood converts to.`,
      "Use int4 (smallest, the default), int8, or fp32 (exact, four times larger).",
    );
  }
  return precision as Precision;
}

function checkName(name: string): string {
  if (!isModelName(name)) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `'${name}' cannot be a model name.`,
      "Use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.",
    );
  }
  return name;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await folderBytes(path) : (await stat(path)).size;
  }
  return total;
}

export class ModelLibrary {
  readonly store: ModelStore;
  private readonly paths: ElmwoodPaths;
  private hubClient: HubClient | undefined;
  private readonly freeSpace: FreeSpaceProbe;
  /** Model folders outside the store usable by name in this process: name -> folder. */
  private readonly attached = new Map<string, string>();
  private readonly active = new Map<
    string,
    Set<{ controller: AbortController; settled: Promise<unknown> }>
  >();

  constructor(private readonly options: LibraryOptions = {}) {
    this.paths = options.paths ?? elmwoodPaths();
    this.store = new ModelStore(this.paths);
    this.hubClient = options.hub;
    this.freeSpace = options.freeSpace ?? freeSpaceOnDisk;
  }

  /** Created on first use, so a bad HF_ENDPOINT only matters to commands that reach the hub. */
  private get hub(): HubClient {
    this.hubClient ??= new HubClient(hubOptionsFromEnv());
    return this.hubClient;
  }

  /** The installed models, then the attached folders (see attach). */
  async list(): Promise<StoreListing> {
    const listing = await this.store.list();
    const defaultName = await this.getDefault();
    for (const [name, dir] of this.attached) {
      try {
        listing.models.push(await this.store.describeAt(name, dir, defaultName));
      } catch (error) {
        const problem = error instanceof ElmwoodError ? error.message : String(error);
        listing.broken.push({ name, dir, problem });
      }
    }
    for (const model of listing.models) model.isDefault = model.name === defaultName;
    return listing;
  }

  async inspect(name: string): Promise<StoredModel> {
    const dir = this.attached.get(name);
    if (dir === undefined) return this.store.inspect(name);
    return this.store.describeAt(name, dir, await this.getDefault());
  }

  /**
   * The chosen default, else the only installed model; with none installed, the only attached
   * folder. Attaching a folder never changes the default a profile already has.
   */
  async getDefault(): Promise<string | undefined> {
    const stored = await this.store.getDefault();
    if (stored) return stored;
    if (this.attached.size !== 1 || (await this.store.names()).length > 0) return undefined;
    return this.attached.keys().next().value;
  }

  async setDefault(name: string): Promise<void> {
    this.refuseAttached(name, "become the default model");
    return this.store.setDefault(name);
  }

  /**
   * Makes a converted model folder outside the store usable by name in this process (what
   * `elmwood serve --model <folder>` serves), without copying it: the name is the folder's own name
   * made a valid model name, with "-2", "-3"... when an installed model already has it. Nothing is
   * written to the store; the folder is the user's, so it is never removed or made the default.
   */
  async attach(folder: string): Promise<StoredModel> {
    const dir = resolve(folder);
    await readManifest(dir);
    const stored = basename(dir);
    if (resolve(this.store.modelDir(stored)) === dir && (await this.store.has(stored))) {
      return this.store.inspect(stored);
    }
    for (const [name, attachedDir] of this.attached) if (attachedDir === dir) return this.inspect(name);
    const base = toModelName(stored);
    let name = base;
    for (let n = 2; (await this.store.has(name)) || this.attached.has(name); n++) name = `${base}-${n}`;
    this.attached.set(name, dir);
    return this.inspect(name);
  }

  /** Throws BAD_INPUT when `name` is an attached folder, which the library must leave alone. */
  refuseAttached(name: string, action: string): void {
    const dir = this.attached.get(name);
    if (dir === undefined) return;
    throw new ElmwoodError(
      "BAD_INPUT",
      `'${name}' is the model folder ${dir}, served only while this Elmwood runs; it cannot ${action}.`,
      `To keep it in Elmwood's library, import it: elmwood models import ${dir}`,
    );
  }

  /** Where a repository's checkpoint is downloaded: downloads/<owner>/<name>. */
  downloadDir(repoId: string): string {
    checkRepoId(repoId);
    return join(this.paths.downloads, ...repoId.split("/"));
  }

  private lock(
    key: string,
    purpose: string,
    signal: AbortSignal | undefined,
    emit: ProgressListener,
    what: string,
  ) {
    return acquireLock(join(this.paths.models, ".locks", `${toModelName(key)}.lock`), {
      purpose,
      signal,
      timeoutMs: this.options.lockTimeoutMs,
      pollMs: this.options.lockPollMs,
      onWait: (holder) => emit({ type: "wait", what, holder: `process ${holder.pid} (${holder.purpose})` }),
    });
  }

  private repoLock(
    repoId: string,
    signal: AbortSignal | undefined,
    emit: ProgressListener,
  ): Promise<HeldLock> {
    return this.lock(`repo--${repoId.replace("/", "--")}`, `pulling ${repoId}`, signal, emit, repoId);
  }

  private modelLock(name: string, purpose: string, signal: AbortSignal | undefined, emit: ProgressListener) {
    return this.lock(`model--${name}`, purpose, signal, emit, name);
  }

  /** The installed model `name` if it can stand for a pull of `repoId` at `precision`. */
  private async installedFor(
    name: string,
    repoId: string,
    precision: Precision,
  ): Promise<StoredModel | undefined> {
    if (!(await this.store.has(name))) return undefined;
    const model = await this.store.inspect(name);
    const from = model.source.repoId;
    if (from?.toLowerCase() !== repoId.toLowerCase() || model.precision !== precision) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `A model named '${name}' is already installed (${model.precision}, from ${from ?? model.source.path}).`,
        "Choose another name with --name, or remove that model first with 'elmwood models rm'.",
      );
    }
    return model;
  }

  private async keptSource(model: StoredModel): Promise<KeptSource | undefined> {
    if (!model.source.managed || !model.source.present) return undefined;
    return { dir: model.source.path, bytes: await folderBytes(model.source.path) };
  }

  /**
   * Downloads `repoId` (a repo id or a catalog short name such as "openelm-270m-instruct"),
   * verifies it and converts it into the store. Resumes a download an earlier pull left, reuses
   * a complete one, and returns at once when the model is already installed. Aborting the signal
   * (or `pause`) keeps the partial files for the next pull.
   */
  async pull(repoIdOrSlug: string, options: PullOptions = {}): Promise<PullResult> {
    const repoId = findCatalogEntry(repoIdOrSlug)?.repoId ?? repoIdOrSlug;
    checkRepoId(repoId);
    const precision = checkPrecision(options.precision);
    const name = checkName(options.name ?? defaultModelName(repoId, precision));
    const emit = options.onProgress ?? noop;

    if (!options.force) {
      const installed = await this.installedFor(name, repoId, precision);
      if (installed) return this.reused(installed, emit);
    }
    return this.track(repoId, options.signal, (signal) =>
      this.pullLocked(repoId, name, precision, options, signal),
    );
  }

  private async reused(model: StoredModel, emit: ProgressListener): Promise<PullResult> {
    emit({ type: "done", name: model.name, dir: model.dir });
    return { model, converted: false, fetchedBytes: 0, keptSource: await this.keptSource(model) };
  }

  /** Runs `work` with a signal that `pause(repoId)` can fire, linked to the caller's own. */
  private async track<T>(
    repoId: string,
    outer: AbortSignal | undefined,
    work: (signal: AbortSignal) => Promise<T>,
  ) {
    if (outer?.aborted) throw cancelled("The download");
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    const key = repoId.toLowerCase();
    const set = this.active.get(key) ?? new Set();
    this.active.set(key, set);
    const promise = work(controller.signal);
    const entry = { controller, settled: promise.catch(noop) };
    set.add(entry);
    try {
      return await promise;
    } finally {
      outer?.removeEventListener("abort", onAbort);
      set.delete(entry);
      if (set.size === 0) this.active.delete(key);
    }
  }

  private async pullLocked(
    repoId: string,
    name: string,
    precision: Precision,
    options: PullOptions,
    signal: AbortSignal,
  ): Promise<PullResult> {
    const emit = options.onProgress ?? noop;
    const dir = this.downloadDir(repoId);
    const revision = options.revision ?? "main";
    await mkdir(this.paths.models, { recursive: true });
    await this.store.sweepLeftovers();
    const lock = await this.repoLock(repoId, signal, emit);
    try {
      // Another process may have finished this very pull while we waited for the lock.
      if (!options.force) {
        const installed = await this.installedFor(name, repoId, precision);
        if (installed) return this.reused(installed, emit);
      }
      let fetchedBytes = 0;
      let commit: string;
      const state = await readDownloadState(dir);
      if (state?.complete && state.revision === revision && (await isDownloadComplete(dir))) {
        // A checkpoint kept from an earlier pull: convert it again without the network.
        commit = state.commit;
        const bytes = state.files.reduce((sum, f) => sum + f.size, 0);
        await ensureFreeSpace(
          this.paths.models,
          estimateConvertedBytes(bytes, precision),
          `converting ${repoId}`,
          this.freeSpace,
        );
      } else {
        const result = await downloadCheckpoint({
          hub: this.hub,
          repoId,
          revision,
          dir,
          signal,
          onProgress: emit,
          freeSpace: this.freeSpace,
          extraSpace: (bytes) => estimateConvertedBytes(bytes, precision),
          progressIntervalMs: this.options.progressIntervalMs,
        });
        fetchedBytes = result.fetchedBytes;
        commit = result.commit;
      }
      await this.convertInto(dir, name, {
        precision,
        repoId,
        revision: commit,
        signal,
        emit,
        overwrite: !!options.force,
      });
      if (options.removeSource) await rm(dir, { recursive: true, force: true });
      if (!(await this.store.chosenDefault())) await this.store.setDefault(name);
      const model = await this.store.inspect(name);
      emit({ type: "done", name, dir: model.dir });
      return { model, converted: true, fetchedBytes, keptSource: await this.keptSource(model) };
    } finally {
      await lock.release();
    }
  }

  private async convertInto(
    sourceDir: string,
    name: string,
    o: {
      precision: Precision;
      repoId?: string;
      revision?: string;
      signal: AbortSignal | undefined;
      emit: ProgressListener;
      overwrite: boolean;
    },
  ): Promise<void> {
    this.refuseAttached(name, "be replaced by a new model of that name");
    await this.refuseEmbeddingName(name);
    const lock = await this.modelLock(name, `converting ${name}`, o.signal, o.emit);
    try {
      if (!o.overwrite && (await this.store.has(name))) {
        throw new ElmwoodError(
          "BAD_INPUT",
          `A model named '${name}' is already installed.`,
          "Choose another name with --name, or replace it with --force.",
        );
      }
      o.emit({ type: "validate", dir: sourceDir });
      await convertCheckpoint(sourceDir, this.store.modelDir(name), {
        precision: o.precision,
        signal: o.signal,
        name,
        repoId: o.repoId,
        revision: o.revision,
        overwrite: o.overwrite,
        onProgress: (p) => o.emit({ type: "convert", phase: p.phase, done: p.done, total: p.total }),
      });
    } finally {
      await lock.release();
    }
  }

  // ---- embedding models (search by meaning) ------------------------------------------------------

  /** The installed embedding models, and folders whose embedding model no longer checks out. */
  async embeddings(): Promise<{ models: InstalledEmbedding[]; broken: BrokenEmbedding[] }> {
    return listEmbeddings(this.paths);
  }

  /**
   * Downloads an embedding model from the catalog (repo id or short name), verifies each file against
   * the hub's hashes, checks that it loads and embeds, and installs it under its short name. Resumes
   * like any pull; `pause(repoId)` keeps what was downloaded.
   */
  async pullEmbedding(
    repoIdOrSlug: string,
    options: EmbeddingPullOptions = {},
  ): Promise<EmbeddingPullResult> {
    const entry = findEmbeddingEntry(repoIdOrSlug);
    if (!entry) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `'${repoIdOrSlug}' is not an embedding model Elmwood knows.`,
        "See 'elmwood models catalog' for the one search by meaning uses.",
      );
    }
    const emit = options.onProgress ?? noop;
    if (!options.force) {
      const installed = (await this.embeddings()).models.find((m) => m.name === entry.slug);
      if (installed) {
        emit({ type: "done", name: installed.name, dir: installed.dir });
        return { model: installed, installed: false, fetchedBytes: 0 };
      }
    }
    return this.track(entry.repoId, options.signal, (signal) =>
      this.pullEmbeddingLocked(entry, options, signal),
    );
  }

  private async pullEmbeddingLocked(
    entry: EmbeddingCatalogEntry,
    options: EmbeddingPullOptions,
    signal: AbortSignal,
  ): Promise<EmbeddingPullResult> {
    const emit = options.onProgress ?? noop;
    const dir = this.downloadDir(entry.repoId);
    await mkdir(this.paths.models, { recursive: true });
    await this.store.sweepLeftovers();
    const lock = await this.repoLock(entry.repoId, signal, emit);
    try {
      if (!options.force) {
        const installed = (await this.embeddings()).models.find((m) => m.name === entry.slug);
        if (installed) return { model: installed, installed: false, fetchedBytes: 0 };
      }
      if (await this.store.has(entry.slug)) {
        throw new ElmwoodError(
          "BAD_INPUT",
          `An OpenELM model is installed under the name '${entry.slug}'.`,
          `Remove it first ('elmwood models rm ${entry.slug}').`,
        );
      }
      const wanted = [entry.onnx, ...EMBEDDING_FILES];
      const download = await downloadCheckpoint({
        hub: this.hub,
        repoId: entry.repoId,
        revision: options.revision ?? "main",
        dir,
        signal,
        onProgress: emit,
        freeSpace: this.freeSpace,
        progressIntervalMs: this.options.progressIntervalMs,
        select: (files, repoId) => selectEmbeddingFiles(files, repoId, wanted),
      });
      emit({ type: "validate", dir });
      const model = await installEmbedding({
        sourceDir: dir,
        files: download.files.map((f) => f.path),
        onnx: entry.onnx,
        repoId: entry.repoId,
        revision: download.commit,
        name: entry.slug,
        paths: this.paths,
        force: options.force,
        signal,
      });
      // The files were moved into the store: nothing of the download is worth keeping.
      await rm(dir, { recursive: true, force: true });
      emit({ type: "done", name: model.name, dir: model.dir });
      return { model, installed: true, fetchedBytes: download.fetchedBytes };
    } finally {
      await lock.release();
    }
  }

  /** Removes an installed embedding model (vectors made with it stay until another model replaces them). */
  async removeEmbedding(name: string): Promise<void> {
    await removeEmbedding(this.paths, name);
  }

  /** True when `name` is an installed embedding model rather than an OpenELM one. */
  async isEmbedding(name: string): Promise<boolean> {
    return isEmbeddingFolder(this.store.modelDir(name));
  }

  private async refuseEmbeddingName(name: string): Promise<void> {
    if (await this.isEmbedding(name)) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `'${name}' is the embedding model search by meaning uses.`,
        "Choose another name with --name.",
      );
    }
  }

  /** Stops pulls of `repoId` running in this process, keeping their partial files; true if any ran. */
  pause(repoIdOrSlug: string): boolean {
    const repoId = catalogRepoId(repoIdOrSlug);
    const set = this.active.get(repoId.toLowerCase());
    if (!set) return false;
    for (const entry of set) entry.controller.abort(cancelled("The download"));
    return true;
  }

  /** Stops pulls of `repoId` and deletes what they downloaded, so the next pull starts afresh. */
  async cancel(repoIdOrSlug: string): Promise<void> {
    const repoId = catalogRepoId(repoIdOrSlug);
    const set = this.active.get(repoId.toLowerCase());
    this.pause(repoId);
    await Promise.all([...(set ?? [])].map((e) => e.settled));
    await this.discardDownload(repoId);
  }

  /** Deletes a repository's download folder (partial or kept), waiting out a pull in another process. */
  async discardDownload(repoId: string): Promise<void> {
    const dir = this.downloadDir(repoId);
    const lock = await this.repoLock(repoId, undefined, noop);
    try {
      await rm(dir, { recursive: true, force: true });
    } finally {
      await lock.release();
    }
  }

  /** Downloads on disk: paused or failed pulls, and checkpoints kept after conversion. */
  async listDownloads(): Promise<DownloadInfo[]> {
    const found: DownloadInfo[] = [];
    const owners = await readdir(this.paths.downloads, { withFileTypes: true }).catch(() => []);
    for (const owner of owners.filter((e) => e.isDirectory())) {
      const repos = await readdir(join(this.paths.downloads, owner.name), { withFileTypes: true });
      for (const repo of repos.filter((e) => e.isDirectory())) {
        const dir = join(this.paths.downloads, owner.name, repo.name);
        const state = await readDownloadState(dir);
        if (!state) continue;
        let presentBytes = 0;
        for (const file of state.files) {
          const final = await stat(join(dir, file.path)).catch(() => undefined);
          const part = await stat(join(dir, `${file.path}.part`)).catch(() => undefined);
          presentBytes += Math.min(file.size, final?.size ?? part?.size ?? 0);
        }
        found.push({
          repoId: state.repoId,
          dir,
          revision: state.revision,
          commit: state.commit,
          complete: state.complete && (await isDownloadComplete(dir)),
          presentBytes,
          totalBytes: state.files.reduce((sum, f) => sum + f.size, 0),
        });
      }
    }
    return found;
  }

  /**
   * Imports a folder: a Hugging Face checkpoint (config.json + safetensors) is converted into the
   * store; an Elmwood model (manifest.json) is checked and copied. The folder itself is left as is.
   */
  async importFolder(dir: string, options: ImportOptions = {}): Promise<ImportResult> {
    const folder = resolve(dir);
    const emit = options.onProgress ?? noop;
    const info = await stat(folder).catch(() => undefined);
    if (!info) {
      throw new ElmwoodError(
        "NOT_FOUND",
        `There is no folder at ${folder}.`,
        "Check the path and try again.",
      );
    }
    if (!info.isDirectory()) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `${folder} is a file, not a folder.`,
        "Give the folder that holds config.json and the .safetensors weights (or an Elmwood model's manifest.json).",
      );
    }
    await mkdir(this.paths.models, { recursive: true });
    await this.store.sweepLeftovers();
    if (await exists(join(folder, MANIFEST_FILE))) return this.importConverted(folder, options, emit);
    if (await exists(join(folder, "config.json"))) return this.importCheckpoint(folder, options, emit);
    throw new ElmwoodError(
      "CHECKPOINT",
      `${folder} is neither a Hugging Face checkpoint (config.json with .safetensors weights) nor an Elmwood model (manifest.json).`,
      (await suggestInside(folder)) ?? "Choose the folder that holds those files.",
    );
  }

  private async importCheckpoint(folder: string, options: ImportOptions, emit: ProgressListener) {
    const precision = checkPrecision(options.precision);
    const files = await readdir(folder);
    const weights = files.filter((f) => f.endsWith(".safetensors"));
    if (weights.length === 0) {
      const hasBin = files.some((f) => f.endsWith(".bin") || f.endsWith(".pt"));
      throw new ElmwoodError(
        "CHECKPOINT",
        `${folder} has config.json but no .safetensors weights.`,
        hasBin
          ? "It holds PyTorch .bin weights; Elmwood reads safetensors. Download the safetensors files of the same model."
          : "Copy model.safetensors (or its shards and model.safetensors.index.json) into the folder.",
      );
    }
    const name = checkName(options.name ?? `${checkpointName(folder)}-${precision}`);
    let bytes = 0;
    for (const file of weights) bytes += (await stat(join(folder, file))).size;
    await ensureFreeSpace(
      this.paths.models,
      estimateConvertedBytes(bytes, precision),
      `importing ${folder}`,
      this.freeSpace,
    );
    await this.convertInto(folder, name, {
      precision,
      signal: options.signal,
      emit,
      overwrite: !!options.force,
    });
    if (!(await this.store.chosenDefault())) await this.store.setDefault(name);
    const model = await this.store.inspect(name);
    emit({ type: "done", name, dir: model.dir });
    return { model, kind: "checkpoint" as const };
  }

  private async importConverted(folder: string, options: ImportOptions, emit: ProgressListener) {
    emit({ type: "validate", dir: folder });
    const { manifest } = await readManifest(folder);
    if (options.precision && options.precision !== manifest.precision) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `${folder} is an Elmwood model already converted to ${manifest.precision}; it cannot be re-converted to ${options.precision}.`,
        "Import it without --precision, or import the original Hugging Face checkpoint at the precision you want.",
      );
    }
    const name = checkName(
      options.name ?? (isModelName(manifest.name) ? manifest.name : toModelName(basename(folder))),
    );
    this.refuseAttached(name, "be replaced by a new model of that name");
    const target = this.store.modelDir(name);
    if (resolve(target) === folder)
      return { model: await this.store.inspect(name), kind: "elmwood" as const };
    const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
    await ensureFreeSpace(this.paths.models, bytes, `importing ${folder}`, this.freeSpace);
    const lock = await this.modelLock(name, `importing ${name}`, options.signal, emit);
    const staging = join(this.paths.models, `.import-${name}-${process.pid}`);
    try {
      if (!options.force && (await this.store.has(name))) {
        throw new ElmwoodError(
          "BAD_INPUT",
          `A model named '${name}' is already installed.`,
          "Choose another name with --name, or replace it with --force.",
        );
      }
      await rm(staging, { recursive: true, force: true });
      // Copy only what the manifest lists: the model, not whatever else sits in the folder.
      for (const file of [...manifest.files.map((f) => f.path), MANIFEST_FILE]) {
        if (options.signal?.aborted) throw cancelled("The import");
        await mkdir(dirname(join(staging, file)), { recursive: true });
        await copyFile(join(folder, file), join(staging, file));
      }
      await readManifest(staging);
      const old = `${staging}.old`;
      const replacing = await exists(target);
      if (replacing) await rename(target, old);
      await rename(staging, target);
      if (replacing) await rm(old, { recursive: true, force: true });
    } finally {
      await rm(staging, { recursive: true, force: true });
      await lock.release();
    }
    if (!(await this.store.chosenDefault())) await this.store.setDefault(name);
    const model = await this.store.inspect(name);
    emit({ type: "done", name, dir: model.dir });
    return { model, kind: "elmwood" as const };
  }

  /**
   * Removes an installed model, and the checkpoint Elmwood downloaded for it when no other installed
   * model was converted from that checkpoint (unless `keepSource`).
   */
  async remove(name: string, options: { keepSource?: boolean } = {}): Promise<RemoveResult> {
    this.refuseAttached(name, "be removed");
    const model = await this.store.inspect(name);
    await this.store.remove(name);
    if (options.keepSource || !model.source.managed || !model.source.present) return { name };
    const { models } = await this.store.list();
    if (models.some((m) => resolve(m.source.path) === resolve(model.source.path))) return { name };
    const removed = await this.deleteSource(model);
    return removed.removed ? { name, removedSource: { dir: removed.dir, bytes: removed.bytes } } : { name };
  }

  /** Deletes the downloaded checkpoint a model was converted from, keeping the model. */
  async removeSource(name: string): Promise<RemoveSourceResult> {
    this.refuseAttached(name, "have its source removed");
    const model = await this.store.inspect(name);
    if (!model.source.managed) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `'${name}' was converted from ${model.source.path || "a folder"}, which Elmwood did not download.`,
        "Elmwood only deletes checkpoints it downloaded; delete that folder yourself if you no longer need it.",
      );
    }
    return this.deleteSource(model);
  }

  private async deleteSource(model: StoredModel): Promise<RemoveSourceResult> {
    const dir = model.source.path;
    if (!isInside(this.paths.downloads, dir) || !(await exists(dir)))
      return { removed: false, dir, bytes: 0 };
    // A pull of the same repository may be writing there: wait for it rather than pull the rug.
    const lock = model.source.repoId ? await this.repoLock(model.source.repoId, undefined, noop) : undefined;
    try {
      const bytes = await folderBytes(dir);
      await rm(dir, { recursive: true, force: true });
      return { removed: true, dir, bytes };
    } finally {
      await lock?.release();
    }
  }
}

/** The repository a catalog short name stands for (an OpenELM model or the embedding model). */
function catalogRepoId(repoIdOrSlug: string): string {
  return findCatalogEntry(repoIdOrSlug)?.repoId ?? findEmbeddingEntry(repoIdOrSlug)?.repoId ?? repoIdOrSlug;
}

/** The files of an embedding repository a pull fetches; CHECKPOINT naming what is missing when the graph or tokenizer is not there. */
function selectEmbeddingFiles(files: HubFile[], repoId: string, wanted: readonly string[]): HubFile[] {
  const required = new Set([wanted[0], "tokenizer.json"]);
  const picked = wanted.map((path) => files.find((f) => f.path === path)).filter((f): f is HubFile => !!f);
  const missing = [...required].filter((path) => !picked.some((f) => f.path === path));
  if (missing.length) {
    throw new ElmwoodError(
      "CHECKPOINT",
      `${repoId} has no ${missing.join(" and ")}, so it cannot be used for search by meaning.`,
      "Check the repository on the hub, or use the model 'elmwood models catalog' lists.",
    );
  }
  return picked;
}

/** A store name for a checkpoint folder; Hugging Face's cache keeps them in models--owner--name/snapshots/<sha>. */
function checkpointName(folder: string): string {
  const parent = basename(dirname(folder));
  const grand = basename(dirname(dirname(folder)));
  if (parent === "snapshots" && grand.startsWith("models--"))
    return toModelName(grand.split("--").pop() ?? grand);
  return toModelName(basename(folder));
}

/** A hint naming a folder inside `folder` that does hold a checkpoint or a model, when there is one. */
async function suggestInside(folder: string): Promise<string | undefined> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const inner = join(folder, entry.name);
    if ((await exists(join(inner, "config.json"))) || (await exists(join(inner, MANIFEST_FILE)))) {
      return `Did you mean ${inner}?`;
    }
    if (entry.name === "snapshots") {
      const snapshot = (await readdir(inner).catch(() => []))[0];
      if (snapshot) return `Did you mean ${join(inner, snapshot)}?`;
    }
  }
  return undefined;
}
