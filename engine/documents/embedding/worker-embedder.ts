/**
 * An Embedder whose model runs in a worker thread (embed-worker.ts), one batch at a time. Aborting a
 * batch ends the worker at once rather than after the batch: a person who pauses indexing should not
 * wait seconds for the CPU to come back. The next batch starts a new worker (loading the model takes
 * a fraction of a second). An idle worker never keeps the process alive.
 */
import { Worker } from "node:worker_threads";
import { cancelled, ElmwoodError } from "../../errors.ts";
import type { EmbedReply, EmbedRequest } from "./embed-protocol.ts";
import type { Embedder, OnnxEmbedderOptions } from "./embedder.ts";

function spawnWorker(): Worker {
  const here = import.meta.url;
  const fromSource = here.endsWith(".ts");
  return new Worker(new URL(fromSource ? "./embed-worker-loader.mjs" : "./embed-worker.js", here));
}

interface Running {
  worker: Worker;
  ready: Promise<{ dims: number; maxTokens: number }>;
}

export class WorkerEmbedder implements Embedder {
  private running: Running | undefined;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly modelId: string,
    readonly dims: number,
    private readonly dir: string,
    private readonly options: OnnxEmbedderOptions,
  ) {}

  /** Starts the worker and loads the model; rejects with the model's own error when it cannot load. */
  static async start(
    dir: string,
    options: OnnxEmbedderOptions & { modelId: string },
  ): Promise<WorkerEmbedder> {
    const probe = new WorkerEmbedder(options.modelId, 0, dir, options);
    const { dims } = await probe.worker().ready;
    const embedder = new WorkerEmbedder(options.modelId, dims, dir, options);
    embedder.running = probe.running;
    return embedder;
  }

  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const job = this.queue.then(() => this.embedNow(texts, signal));
    this.queue = job.catch(() => undefined);
    return job;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private worker(): Running {
    if (this.running) return this.running;
    const worker = spawnWorker();
    worker.unref();
    const ready = new Promise<{ dims: number; maxTokens: number }>((resolve, reject) => {
      const onMessage = (message: EmbedReply) => {
        if (message.type === "loaded") resolve(message);
        else if (message.type === "error" && message.id === undefined) reject(toError(message.error));
        else return;
        worker.off("message", onMessage);
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
      worker.once("exit", (code) =>
        reject(new ElmwoodError("INTERNAL", `The embedding worker exited (code ${code}).`)),
      );
    });
    ready.catch(() => undefined);
    worker.postMessage({ type: "load", dir: this.dir, options: this.options } satisfies EmbedRequest);
    this.running = { worker, ready };
    return this.running;
  }

  private async embedNow(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closed) throw cancelled("Embedding");
    if (signal?.aborted) throw cancelled("Embedding");
    if (!texts.length) return [];
    const running = this.worker();
    await running.ready;
    const { worker } = running;
    const id = this.nextId++;
    worker.ref();
    try {
      return await new Promise<Float32Array[]>((resolve, reject) => {
        const onAbort = () => {
          void this.stop();
          reject(cancelled("Embedding"));
        };
        const onMessage = (message: EmbedReply) => {
          if (message.type === "vectors" && message.id === id) {
            const out: Float32Array[] = [];
            for (let i = 0; i < texts.length; i++)
              out.push(message.data.slice(i * this.dims, (i + 1) * this.dims));
            resolve(out);
          } else if (message.type === "error" && message.id === id) reject(toError(message.error));
          else return;
          cleanup();
        };
        const onExit = (code: number) => {
          cleanup();
          reject(
            signal?.aborted
              ? cancelled("Embedding")
              : new ElmwoodError("INTERNAL", `The embedding worker exited (code ${code}).`),
          );
        };
        const cleanup = () => {
          worker.off("message", onMessage);
          worker.off("exit", onExit);
          signal?.removeEventListener("abort", onAbort);
        };
        worker.on("message", onMessage);
        worker.on("exit", onExit);
        signal?.addEventListener("abort", onAbort, { once: true });
        worker.postMessage({ type: "embed", id, texts: [...texts] } satisfies EmbedRequest);
      });
    } finally {
      if (this.running?.worker === worker) worker.unref();
    }
  }

  private async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.worker.terminate();
  }
}

function toError(error: { code: ElmwoodError["code"]; message: string; hint?: string }): ElmwoodError {
  return new ElmwoodError(error.code, error.message, error.hint);
}
