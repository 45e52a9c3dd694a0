/**
 * Keeps the document index in step with the folders a person added: a reconciling scan of each folder
 * (at start-up this is the catch-up after a restart), then, when watching, every add, edit, rename and
 * delete as it happens. All work goes through one queue, so a scan and a change to the same file never
 * race; the CPU-heavy part of each file runs in the preparer's worker threads, and each file's result
 * is written in one transaction.
 */
import { promises as fs } from "node:fs";
import { basename, resolve } from "node:path";
import { type FSWatcher, watch } from "chokidar";
import { ElmwoodError } from "../errors.ts";
import type { Db } from "../store/database.ts";
import {
  belowRange,
  type FileRecord,
  type Folder,
  type FolderState,
  type FolderStatus,
  IndexStore,
} from "./index-store.ts";
import {
  DEFAULT_PREPARE_OPTIONS,
  describeFileError,
  type Prepared,
  type PrepareOptions,
  skipWithoutReading,
} from "./prepare.ts";
import { type Preparer, workerPreparer } from "./prepare-pool.ts";
import { isSkippedFolderName, walkRoot } from "./walk.ts";

export type FileOutcome = "indexed" | "unchanged" | "skipped" | "error" | "removed";

export type IndexEvent =
  | { type: "folder"; folderId: number; path: string; state: FolderState; message?: string }
  | { type: "progress"; folderId: number; path: string; done: number; total: number }
  /** The watcher of a folder is live: changes from now on are followed. */
  | { type: "watching"; folderId: number; path: string }
  | { type: "file"; folderId: number; path: string; outcome: FileOutcome; reason?: string; chunks?: number }
  | { type: "idle" };

export interface IndexerOptions {
  /** Where files are prepared; default: a worker-thread pool with `prepare` options. */
  preparer?: Preparer;
  prepare?: Partial<PrepareOptions>;
  /** Follow changes in the added folders until close(). */
  watch?: boolean;
  /** Changes are collected this long before they are indexed, so a burst of saves costs one pass (ms). */
  debounceMs?: number;
}

type Task = () => Promise<void>;

/** A file to (re)index, with what the walk saw and what the index holds. */
interface Todo {
  path: string;
  size: number;
  mtimeMs: number;
  known?: FileRecord;
}

export class DocumentIndexer {
  readonly store: IndexStore;
  readonly #preparer: Preparer;
  readonly #prepareOptions: PrepareOptions;
  readonly #watch: boolean;
  readonly #debounceMs: number;
  readonly #listeners = new Set<(event: IndexEvent) => void>();
  readonly #watchers = new Map<number, FSWatcher>();
  readonly #changed = new Map<number, Set<string>>();
  readonly #abort = new AbortController();
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #debounce?: NodeJS.Timeout;
  #closed = false;

  constructor(db: Db, options: IndexerOptions = {}) {
    this.store = new IndexStore(db);
    this.#prepareOptions = { ...DEFAULT_PREPARE_OPTIONS, ...options.prepare };
    this.#preparer = options.preparer ?? workerPreparer({ options: this.#prepareOptions });
    this.#watch = options.watch ?? false;
    this.#debounceMs = options.debounceMs ?? 150;
  }

  /** Subscribes to indexing events; returns the unsubscribe function. */
  on(listener: (event: IndexEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Adds a folder and queues its first scan (and watching, if on). Resolves once the folder is
   * recorded, not when it is indexed: await `whenIdle()` for that.
   */
  async addFolder(path: string): Promise<{ folder: Folder; replaced: string[] }> {
    const absolute = resolve(path);
    let real: string;
    try {
      real = await fs.realpath(absolute);
      if (!(await fs.stat(real)).isDirectory())
        throw Object.assign(new Error("not a folder"), { code: "ENOTDIR" });
      await fs.access(real, fs.constants.R_OK | fs.constants.X_OK);
    } catch (error) {
      throw folderError(absolute, error);
    }
    const added = this.store.addFolder(real);
    // Folders inside the new one were replaced by it: stop following them on their own.
    for (const id of [...this.#watchers.keys()]) if (!this.store.folder(id)) await this.#unwatch(id);
    this.#scheduleFolder(added.folder.id);
    return added;
  }

  /**
   * Adds one file to the index on its own (a document dropped on a chat), followed like a folder
   * with that file in it. A file inside an indexed folder is indexed already: that folder is returned.
   */
  async addFile(path: string): Promise<{ folder: Folder; replaced: string[] }> {
    const absolute = resolve(path);
    let real: string;
    try {
      real = await fs.realpath(absolute);
      if (!(await fs.stat(real)).isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
      await fs.access(real, fs.constants.R_OK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EISDIR") return this.addFolder(absolute);
      throw folderError(absolute, error);
    }
    const outer = this.store.folderContaining(real);
    if (outer) return { folder: outer, replaced: [] };
    const added = this.store.addFolder(real);
    this.#scheduleFolder(added.folder.id);
    return added;
  }

  /** Stops following a folder and removes everything indexed from it. */
  async removeFolder(path: string): Promise<boolean> {
    const absolute = resolve(path);
    const folder =
      this.store.folderByPath(absolute) ??
      this.store.folderByPath(await fs.realpath(absolute).catch(() => absolute));
    if (!folder) return false;
    await this.#unwatch(folder.id);
    await this.#enqueue(async () => this.store.removeFolder(folder.id));
    return true;
  }

  status(): FolderStatus[] {
    return this.store.status();
  }

  /** True while files are queued, being read or waiting out the debounce. */
  get busy(): boolean {
    return this.#pending > 0 || this.#debounce !== undefined;
  }

  /** Queues the catch-up scan of every added folder and, when watching, starts following them. */
  start(): void {
    for (const folder of this.store.folders()) this.#scheduleFolder(folder.id);
  }

  /** Scans one folder (by id) or all of them now; resolves when the index has caught up. */
  async sync(folderId?: number): Promise<void> {
    const ids = folderId === undefined ? this.store.folders().map((f) => f.id) : [folderId];
    await Promise.all(ids.map((id) => this.#enqueue(() => this.#guarded(id, () => this.#reconcile(id)))));
  }

  /** Resolves when nothing is queued or running (pending debounced changes included). */
  async whenIdle(): Promise<void> {
    while (this.#pending > 0 || this.#debounce) {
      await new Promise<void>((done) => {
        const off = this.on((event) => {
          if (event.type === "idle") {
            off();
            done();
          }
        });
      });
    }
  }

  /** Stops watching and indexing; work in progress ends after the current file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    await Promise.all([...this.#watchers.keys()].map((id) => this.#unwatch(id)));
    await this.#preparer.close();
    await this.#queue;
  }

  #emit(event: IndexEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not stop indexing.
      }
    }
  }

  #enqueue(task: Task): Promise<void> {
    this.#pending++;
    const run = this.#queue.then(async () => {
      if (this.#closed) return;
      await task();
    });
    this.#queue = run
      .catch(() => {})
      .finally(() => {
        this.#pending--;
        if (this.#pending === 0 && !this.#debounce) this.#emit({ type: "idle" });
      });
    return run;
  }

  #scheduleFolder(folderId: number): void {
    void this.#enqueue(() => this.#guarded(folderId, () => this.#reconcile(folderId))).catch(() => {});
    if (this.#watch) this.#startWatching(folderId);
  }

  /** Unexpected failures (a full disk, a locked database) end in an error state the person can see. */
  async #guarded(folderId: number, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      const folder = this.store.folder(folderId);
      if (folder) this.#setState(folder, "error", `Indexing stopped: ${(error as Error).message}`);
      throw error;
    }
  }

  #setState(folder: Folder, state: FolderState, message?: string): void {
    this.store.setFolderState(folder.id, state, message ?? null);
    this.#emit({ type: "folder", folderId: folder.id, path: folder.path, state, message });
  }

  /**
   * Brings the index of a folder (or of one subfolder, `under`) in line with the disk: files gone are
   * forgotten, new and changed ones prepared, unchanged ones left alone.
   */
  async #reconcile(folderId: number, under?: string): Promise<void> {
    const folder = this.store.folder(folderId);
    if (!folder) return;
    const root = under ?? folder.path;
    const signal = this.#abort.signal;
    this.#setState(folder, "scanning");
    let walked: Awaited<ReturnType<typeof walkRoot>>;
    try {
      walked = await walkRoot(root, signal);
    } catch (error) {
      if (signal.aborted) return;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        if (root === folder.path) return this.#folderGone(folder);
        this.#removed(
          folder,
          this.#knownUnder(folder, root).map((f) => f.path),
        );
        this.#setState(folder, "ready");
        return;
      }
      this.#setState(folder, "error", describeFileError(error));
      return;
    }
    const known = new Map(this.#knownUnder(folder, root).map((f) => [f.path, f]));
    const seen = new Set<string>();
    for (const problem of walked.problems) {
      seen.add(problem.path);
      const old = known.get(problem.path);
      if (old?.reason === problem.reason) continue;
      const status = /loop|already indexed/.test(problem.reason) ? "skipped" : "error";
      this.store.writeNotIndexed(
        folder.id,
        { path: problem.path, size: 0, mtimeMs: 0 },
        status,
        problem.reason,
      );
      this.#emit({
        type: "file",
        folderId: folder.id,
        path: problem.path,
        outcome: status,
        reason: problem.reason,
      });
    }
    const todo: Todo[] = [];
    for (const file of walked.files) {
      seen.add(file.path);
      const old = known.get(file.path);
      // Unchanged files are left alone, except those the file system refused (no hash: never read),
      // which may be readable now; a damaged PDF stays damaged until it changes.
      const retry = old?.status === "error" && old.hash === null;
      if (old && old.size === file.size && old.mtimeMs === file.mtimeMs && !retry) continue;
      todo.push({ ...file, known: old });
    }
    this.#setState(folder, "indexing");
    await this.#prepareAll(folder, todo, signal);
    // Forgotten after the new files are written: a file renamed while Elmwood was closed finds its
    // old self still there and takes the vectors of its unchanged text along.
    this.#removed(
      folder,
      [...known.keys()].filter((path) => !seen.has(path)),
    );
    if (signal.aborted) return;
    // The folder itself may have gone while we worked: then nothing of it stays in the index.
    if (!(await exists(folder.path))) return this.#folderGone(folder);
    this.#setState(folder, "ready");
  }

  /** Prepares files with as many in flight as the preparer runs at once, writing each as it comes. */
  async #prepareAll(folder: Folder, todo: Todo[], signal: AbortSignal) {
    let done = 0;
    let lastReport = 0;
    const report = (force = false) => {
      const now = Date.now();
      if (!force && now - lastReport < 250) return;
      lastReport = now;
      this.store.setFolderProgress(folder.id, done, todo.length);
      this.#emit({ type: "progress", folderId: folder.id, path: folder.path, done, total: todo.length });
    };
    report(true);
    let next = 0;
    const lane = async () => {
      while (next < todo.length && !signal.aborted) {
        const item = todo[next++];
        const skip = skipWithoutReading(item.path, item.size, this.#prepareOptions);
        const result: Prepared = skip
          ? { outcome: "skipped", path: item.path, size: item.size, mtimeMs: item.mtimeMs, reason: skip }
          : await this.#preparer.prepare({
              path: item.path,
              knownHash: item.known?.status === "indexed" ? (item.known.hash ?? undefined) : undefined,
            });
        if (signal.aborted) return;
        this.#apply(folder, result);
        done++;
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.#preparer.concurrency) }, lane));
    report(true);
  }

  /** Writes one prepared file's outcome; a file whose folder was removed meanwhile is dropped. */
  #apply(folder: Folder, result: Prepared): void {
    if (!this.store.folder(folder.id)) return;
    const path = result.path;
    switch (result.outcome) {
      case "indexed":
        this.store.writeIndexed(folder.id, result, result.chunks);
        this.#emit({
          type: "file",
          folderId: folder.id,
          path,
          outcome: "indexed",
          chunks: result.chunks.length,
        });
        return;
      case "unchanged":
        this.store.touch(path, result.size, result.mtimeMs);
        this.#emit({ type: "file", folderId: folder.id, path, outcome: "unchanged" });
        return;
      case "vanished":
        this.#removed(folder, [path]);
        return;
      default:
        this.store.writeNotIndexed(
          folder.id,
          { ...result, mtimeMs: Math.floor(result.mtimeMs) },
          result.outcome,
          result.reason,
        );
        this.#emit({
          type: "file",
          folderId: folder.id,
          path,
          outcome: result.outcome,
          reason: result.reason,
        });
    }
  }

  #removed(folder: Folder, paths: string[]): void {
    if (!paths.length) return;
    this.store.deleteFiles(paths);
    for (const path of paths) this.#emit({ type: "file", folderId: folder.id, path, outcome: "removed" });
  }

  #folderGone(folder: Folder): void {
    this.#removed(
      folder,
      this.store.files(folder.id).map((f) => f.path),
    );
    this.#setState(folder, "missing", "The folder no longer exists; add it again when it is back.");
  }

  #knownUnder(folder: Folder, root: string): FileRecord[] {
    const files = this.store.files(folder.id);
    if (root === folder.path) return files;
    const [lo, hi] = belowRange(root);
    return files.filter((f) => f.path === root || (f.path >= lo && f.path < hi));
  }

  // ---- watching -------------------------------------------------------------------------------

  #startWatching(folderId: number): void {
    if (this.#watchers.has(folderId) || this.#closed) return;
    const folder = this.store.folder(folderId);
    if (!folder) return;
    const watcher = watch(folder.path, {
      ignoreInitial: true,
      followSymlinks: true,
      ignored: (path: string) => isSkippedFolderName(basename(path)),
    });
    watcher.on("all", (_event, path) => this.#noteChange(folderId, path));
    watcher.on("ready", () => this.#emit({ type: "watching", folderId, path: folder.path }));
    watcher.on("error", (error) => {
      this.#emit({
        type: "folder",
        folderId,
        path: folder.path,
        state: "error",
        message: `Watching stopped: ${(error as Error).message}`,
      });
    });
    this.#watchers.set(folderId, watcher);
  }

  async #unwatch(folderId: number): Promise<void> {
    const watcher = this.#watchers.get(folderId);
    this.#watchers.delete(folderId);
    await watcher?.close();
  }

  #noteChange(folderId: number, path: string): void {
    if (this.#closed) return;
    const paths = this.#changed.get(folderId) ?? new Set<string>();
    this.#changed.set(folderId, paths);
    paths.add(path);
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.#flushChanges(), this.#debounceMs);
  }

  #flushChanges(): void {
    this.#debounce = undefined;
    const batches = [...this.#changed];
    this.#changed.clear();
    for (const [folderId, paths] of batches) {
      void this.#enqueue(() => this.#guarded(folderId, () => this.#syncPaths(folderId, [...paths]))).catch(
        () => {},
      );
    }
  }

  /** Re-checks changed paths: gone ones are forgotten, folders rescanned, files prepared again. */
  async #syncPaths(folderId: number, paths: string[]): Promise<void> {
    const folder = this.store.folder(folderId);
    if (!folder) return;
    if (!(await exists(folder.path))) return this.#folderGone(folder);
    const files: Todo[] = [];
    const folders: string[] = [];
    const gone: string[] = [];
    for (const path of paths) {
      let info: Awaited<ReturnType<typeof fs.stat>>;
      try {
        info = await fs.stat(path);
      } catch {
        gone.push(...this.#knownUnder(folder, path).map((f) => f.path));
        continue;
      }
      if (info.isDirectory()) folders.push(path);
      else
        files.push({
          path,
          size: info.size,
          mtimeMs: Math.floor(info.mtimeMs),
          known: this.store.file(path),
        });
    }
    for (const dir of folders) await this.#reconcile(folderId, dir === folder.path ? undefined : dir);
    if (files.length) {
      this.#setState(folder, "indexing");
      await this.#prepareAll(folder, files, this.#abort.signal);
    }
    // A rename arrives as a new path and a gone one: the new file is written first, so its unchanged
    // text keeps its vectors (index-store.ts), then the old path is forgotten.
    this.#removed(folder, gone);
    if (files.length && !this.#abort.signal.aborted) this.#setState(folder, "ready");
  }
}

/** Whether an added folder (or a file added on its own) is still there. */
async function exists(path: string): Promise<boolean> {
  try {
    const info = await fs.stat(path);
    return info.isDirectory() || info.isFile();
  } catch {
    return false;
  }
}

function folderError(path: string, error: unknown): ElmwoodError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") {
    return new ElmwoodError("NOT_FOUND", `There is no folder at ${path}.`, "Check the path and try again.");
  }
  if (code === "ENOTDIR") {
    return new ElmwoodError(
      "BAD_INPUT",
      `${path} is a file, not a folder.`,
      "Add the folder that contains it.",
    );
  }
  if (code === "EACCES" || code === "EPERM") {
    return new ElmwoodError(
      "BAD_INPUT",
      `Elmwood may not read the folder ${path}.`,
      "Check its permissions.",
    );
  }
  return new ElmwoodError("BAD_INPUT", `Cannot add ${path}: ${describeFileError(error)}.`);
}
