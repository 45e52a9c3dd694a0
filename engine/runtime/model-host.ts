/**
 * A loaded model in its own worker thread, seen from the main thread: load, generate with streamed
 * tokens, prefill, abort, logits. One generation runs at a time; the others wait in order in a bounded
 * queue (a full queue is refused as BUSY, which the local API answers with 429). A request aborted
 * while it waits leaves the queue without ever reaching the model. A prefill only uses a model that
 * is idle, and gives way to any request that arrives while it runs.
 */
import { Worker } from "node:worker_threads";
import { cancelled, ElmwoodError } from "../errors.ts";
import type { GenerateResult } from "./generator.ts";
import type { LoadOptions, RunStats } from "./model-session.ts";
import type {
  LoadedInfo,
  WorkerGenerateRequest,
  WorkerReply,
  WorkerRequest,
} from "./model-worker-protocol.ts";

export type { LoadedInfo, WorkerGenerateRequest } from "./model-worker-protocol.ts";

/** How long closing waits for the worker to release its session (a prefill chunk takes well under). */
const CLOSE_WAIT_MS = 10_000;

export interface HostOptions extends LoadOptions {
  /** Generations that may wait behind the running one. */
  maxQueue?: number;
}

export interface GenerateCallbacks {
  signal?: AbortSignal;
  /** `sentAt` is given when `timing` is on: when the worker sent the token (timeOrigin + now). */
  onToken?: (token: { id: number; text: string }, sentAt?: number) => void;
  /** Asks the worker for send times and run statistics (the benchmark's breakdown). */
  timing?: boolean;
  /** Called once the request reaches the model (after waiting in the queue). */
  onStart?: () => void;
}

type Pending = {
  resolve: (value: never) => void;
  reject: (error: Error) => void;
  onToken?: GenerateCallbacks["onToken"];
};

function spawnWorker(): Worker {
  // From TypeScript sources (CLI, tests, server) the worker needs tsx's loader; built code has .js.
  const here = import.meta.url;
  const fromSource = here.endsWith(".ts");
  return new Worker(new URL(fromSource ? "./model-worker-loader.mjs" : "./model-worker.js", here));
}

export class ModelHost {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private queue: { start: () => void; abandon: (error: Error) => void }[] = [];
  private busy = false;
  private closed = false;
  /** The prefill running now, which the next request stops. */
  private prefilling: number | undefined;
  info!: LoadedInfo;

  private constructor(
    private readonly worker: Worker,
    readonly dir: string,
    private readonly maxQueue: number,
  ) {
    worker.on("message", (message: WorkerReply) => this.receive(message));
    const fail = (error: Error) => {
      const failure = new ElmwoodError(
        "INTERNAL",
        `The model stopped unexpectedly: ${error.message}`,
        "Load the model again.",
      );
      for (const p of this.pending.values()) p.reject(failure);
      this.pending.clear();
      for (const waiting of this.queue) waiting.abandon(failure);
      this.queue = [];
      this.closed = true;
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!this.closed) fail(new Error(`worker exited with code ${code}`));
    });
  }

  static async start(dir: string, options: HostOptions = {}): Promise<ModelHost> {
    const { maxQueue = 16, ...load } = options;
    const host = new ModelHost(spawnWorker(), dir, maxQueue);
    try {
      host.info = await host.call<LoadedInfo>({ type: "load", id: 0, dir, options: load });
    } catch (error) {
      await host.close();
      throw error;
    }
    return host;
  }

  /** Generations waiting behind the running one. */
  get waiting(): number {
    return this.queue.length;
  }

  get running(): boolean {
    return this.busy;
  }

  async generate(
    request: WorkerGenerateRequest,
    callbacks: GenerateCallbacks = {},
  ): Promise<GenerateResult & { runStats?: RunStats }> {
    const { signal } = callbacks;
    if (signal?.aborted) throw cancelled("Generation");
    await this.turn(signal);
    try {
      callbacks.onStart?.();
      const id = this.nextId++;
      const onAbort = () =>
        this.worker.postMessage({ type: "abort", id: this.nextId++, target: id } satisfies WorkerRequest);
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        return await this.call<GenerateResult & { runStats?: RunStats }>(
          { type: "generate", id, request, timing: callbacks.timing },
          callbacks.onToken,
        );
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    } finally {
      this.release();
    }
  }

  /**
   * Runs `tokens` into the prefix cache while nothing else wants the model, so that a request whose
   * prompt starts with them computes only the rest (the chat prepares the message being typed). It
   * never waits behind a request: a model that is generating, or has requests waiting, skips it
   * (null). A newer prefill replaces one in progress, and a request that arrives meanwhile stops it
   * between two chunks of the prompt; what was computed stays cached. Resolves with how many tokens
   * were computed, or null when it was skipped or stopped.
   */
  async prefill(tokens: number[]): Promise<{ computed: number } | null> {
    if (this.closed || tokens.length === 0) return null;
    if (this.busy && (this.prefilling === undefined || this.queue.length > 0)) return null;
    await this.turn(); // stops the prefill in progress, if any
    const id = this.nextId++;
    try {
      // A request that came while this one waited for the old prefill to stop goes first.
      if (this.queue.length > 0) return null;
      this.prefilling = id;
      return await this.call<{ computed: number }>({ type: "prefill", id, tokens });
    } catch (error) {
      if (error instanceof ElmwoodError && error.code === "CANCELLED") return null;
      throw error;
    } finally {
      if (this.prefilling === id) this.prefilling = undefined;
      this.release();
    }
  }

  async logits(tokens: number[]): Promise<Float32Array> {
    await this.turn();
    try {
      return await this.call<Float32Array>({ type: "logits", id: 0, tokens });
    } finally {
      this.release();
    }
  }

  /** Ends the profile of a model loaded with `profilePrefix`; resolves with the profile's file. */
  async endProfiling(): Promise<string> {
    await this.turn();
    try {
      return await this.call<string>({ type: "profile", id: 0 });
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.queue)
      waiting.abandon(new ElmwoodError("CANCELLED", "The model was unloaded."));
    this.queue = [];
    // The model's memory belongs to onnxruntime and outlives a terminated thread: the worker stops
    // its generations and releases the session first. A worker stuck in a long run is not waited
    // for past CLOSE_WAIT_MS (it is terminated; what it held is then only freed with the process).
    const closed = new Promise<void>((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: () => resolve(), reject: () => resolve() });
      this.worker.postMessage({ type: "close", id } satisfies WorkerRequest);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
    });
    await Promise.race([closed, timeout]);
    clearTimeout(timer);
    await this.worker.terminate();
  }

  /** Waits until this request may use the model. */
  private turn(signal?: AbortSignal): Promise<void> {
    if (this.closed)
      return Promise.reject(new ElmwoodError("MODEL", "The model is not loaded.", "Load it again."));
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    // A prefill only borrows an idle model: it stops for whoever comes next.
    if (this.prefilling !== undefined) {
      this.worker.postMessage({
        type: "abort",
        id: this.nextId++,
        target: this.prefilling,
      } satisfies WorkerRequest);
      this.prefilling = undefined;
    }
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(
        new ElmwoodError(
          "BUSY",
          `The model is busy: ${this.queue.length} requests are already waiting.`,
          "Try again in a moment.",
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        abandon: (error: Error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.queue = this.queue.filter((e) => e !== entry);
        reject(cancelled("Generation"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(entry);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next.start();
    else this.busy = false;
  }

  private call<T>(message: WorkerRequest, onToken?: Pending["onToken"]): Promise<T> {
    const id = message.id || this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject, onToken });
      this.worker.postMessage({ ...message, id });
    });
  }

  private receive(message: WorkerReply): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    switch (message.type) {
      case "token":
        pending.onToken?.(message.token, message.sentAt);
        return;
      case "error":
        this.pending.delete(message.id);
        pending.reject(new ElmwoodError(message.error.code, message.error.message, message.error.hint));
        return;
      default:
        this.pending.delete(message.id);
        pending.resolve(resultOf(message) as never);
    }
  }
}

/** What a call's final reply resolves it with. */
function resultOf(message: Exclude<WorkerReply, { type: "token" | "error" }>): unknown {
  switch (message.type) {
    case "loaded":
      return message.info;
    case "done":
      return { ...message.result, ...(message.runStats ? { runStats: message.runStats } : {}) };
    case "logits":
      return message.logits;
    case "prefilled":
      return { computed: message.computed };
    case "profiled":
      return message.file;
    case "closed":
      return undefined;
  }
}
