/**
 * Runs prepareFile off the main thread: a small pool of worker threads, each with its own tokenizer.
 * A worker that crashes or hangs on one file (a hostile PDF) is replaced, and that file gets an error
 * outcome; the rest of the indexing goes on. `inlinePreparer` does the same work on the calling thread
 * for tests and tools that have no event loop to protect.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { type Prepared, type PrepareOptions, type PrepareRequest, prepareFile } from "./prepare.ts";
import type { CountTokens } from "./types.ts";

export interface Preparer {
  /** How many files it works on at once; the indexer keeps that many in flight. */
  readonly concurrency: number;
  prepare(request: PrepareRequest): Promise<Prepared>;
  close(): Promise<void>;
}

export interface PoolOptions {
  options: PrepareOptions;
  /** Worker threads; default: one fewer than the cores, at least one, at most four. */
  size?: number;
  /** A file taking longer than this is given up with an error outcome (ms). */
  fileTimeoutMs?: number;
  /** The worker entry point; a .ts file is loaded through tsx (development, tests, the CLI). */
  workerUrl?: URL;
}

export function inlinePreparer(options: PrepareOptions, countTokens: CountTokens): Preparer {
  return {
    concurrency: 1,
    prepare: (request) => prepareFile(request, options, countTokens),
    close: async () => {},
  };
}

interface Pending {
  request: PrepareRequest;
  resolve: (result: Prepared) => void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  job?: { id: number } & Pending;
}

export function workerPreparer(pool: PoolOptions): Preparer {
  const size = pool.size ?? Math.max(1, Math.min(4, availableParallelism() - 1));
  const timeoutMs = pool.fileTimeoutMs ?? 120_000;
  // From sources the worker is TypeScript; in the built app it is bundled beside main as .js.
  const fromSource = import.meta.url.endsWith(".ts");
  const url =
    pool.workerUrl ?? new URL(fromSource ? "./prepare-worker.ts" : "./prepare-worker.js", import.meta.url);
  const queue: Pending[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;

  const spawn = (): Slot => {
    const worker = startWorker(url);
    // Workers must not keep a CLI or test process alive once the pool is idle.
    worker.unref();
    let markReady: () => void = () => {};
    const slot: Slot = { worker, ready: new Promise<void>((r) => (markReady = r)) };
    worker.on("message", (message: { ready?: true; id?: number; result?: Prepared }) => {
      if (message.ready) {
        markReady();
        return;
      }
      const job = slot.job;
      if (!job || job.id !== message.id || !message.result) return;
      clearTimeout(job.timer);
      slot.job = undefined;
      job.resolve(message.result);
      pump();
    });
    const fail = (reason: string) => {
      const job = slot.job;
      slot.job = undefined;
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      markReady();
      if (job) {
        clearTimeout(job.timer);
        job.resolve({ outcome: "error", path: job.request.path, size: 0, mtimeMs: 0, reason });
      }
      if (!closed) pump();
    };
    worker.on("error", (error) => fail(`reading it crashed the extractor (${error.message})`));
    worker.on("exit", (code) => {
      if (slots.includes(slot)) fail(`reading it stopped the extractor (exit code ${code})`);
    });
    slots.push(slot);
    return slot;
  };

  const pump = () => {
    while (!closed && queue.length) {
      let slot = slots.find((s) => !s.job);
      if (!slot && slots.length < size) slot = spawn();
      if (!slot) return;
      const pending = queue.shift() as Pending;
      const job = { ...pending, id: nextId++ };
      slot.job = job;
      slot.worker.ref();
      const target = slot;
      job.timer = setTimeout(() => {
        if (target.job !== job) return;
        void target.worker.terminate();
        const index = slots.indexOf(target);
        if (index >= 0) slots.splice(index, 1);
        target.job = undefined;
        job.resolve({
          outcome: "error",
          path: job.request.path,
          size: 0,
          mtimeMs: 0,
          reason: `gave up after ${Math.round(timeoutMs / 1000)} s of extraction`,
        });
        pump();
      }, timeoutMs);
      job.timer.unref();
      void target.ready.then(() => {
        if (target.job === job)
          target.worker.postMessage({ id: job.id, request: job.request, options: pool.options });
      });
    }
    for (const slot of slots) if (!slot.job) slot.worker.unref();
  };

  return {
    concurrency: size,
    prepare(request) {
      if (closed)
        return Promise.resolve({
          outcome: "error",
          path: request.path,
          size: 0,
          mtimeMs: 0,
          reason: "indexing stopped",
        });
      return new Promise<Prepared>((resolve) => {
        queue.push({ request, resolve });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const pending of queue.splice(0)) {
        pending.resolve({
          outcome: "error",
          path: pending.request.path,
          size: 0,
          mtimeMs: 0,
          reason: "indexing stopped",
        });
      }
      const all = slots.splice(0);
      await Promise.all(all.map((slot) => slot.worker.terminate()));
      for (const slot of all) {
        if (slot.job) {
          clearTimeout(slot.job.timer);
          slot.job.resolve({
            outcome: "error",
            path: slot.job.request.path,
            size: 0,
            mtimeMs: 0,
            reason: "indexing stopped",
          });
        }
      }
    },
  };
}

/** The ES module entry of tsx's API (its CommonJS twin cannot be imported from an eval'd worker). */
function tsxApiUrl(): string {
  const resolveEsm = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (resolveEsm) {
    try {
      return resolveEsm("tsx/esm/api");
    } catch {
      // Resolvers without ESM resolution (some test runners): derive it from the CommonJS entry.
    }
  }
  const cjs = createRequire(import.meta.url).resolve("tsx/esm/api");
  return pathToFileURL(cjs.replace(/\.cjs$/, ".mjs")).href;
}

/**
 * A worker for a TypeScript entry point registers tsx inside the new thread first: loader hooks
 * registered in the parent do not reach worker threads on Node 20.
 */
function startWorker(url: URL): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url);
  const bootstrap =
    `import(${JSON.stringify(tsxApiUrl())})` +
    `.then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })` +
    `.catch((error) => { setImmediate(() => { throw error; }); });`;
  return new Worker(bootstrap, { eval: true });
}
