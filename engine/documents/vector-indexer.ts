/**
 * Gives every indexed chunk a vector, in the background, after the word index: files become findable
 * by their words first, then by their meaning as the embedding model works through them. Batches of
 * chunks are read, embedded in the embedding worker and written in one transaction each, so a process
 * killed mid-batch loses only that batch, and the next start carries on from the chunks still
 * without a vector. New, edited, renamed and deleted files need nothing special here: the index store
 * gives chunks whose text did not change their old vectors, deletes cascade, and whatever is left
 * without a vector is simply the next batch.
 */
import { isElmwoodError } from "../errors.ts";
import type { Db } from "../store/database.ts";
import type { Embedder } from "./embedding/embedder.ts";
import { VectorStore } from "./vectors/vector-store.ts";

/** no-model: search stays by words; waiting: the word index goes first; ready: every chunk has a vector. */
export type MeaningState = "no-model" | "waiting" | "embedding" | "ready" | "paused" | "error";

export interface MeaningStatus {
  state: MeaningState;
  /** The embedding model the vectors come from (its repository and revision), when one is in use. */
  model: string | null;
  embedded: number;
  total: number;
  /** Throughput of the current run, once a batch has finished. */
  chunksPerSecond: number | null;
  message: string | null;
}

export type MeaningEvent = { type: "meaning"; status: MeaningStatus };

export interface VectorIndexerOptions {
  /** The document embedder, opened when there is work; undefined when no embedding model is installed. */
  openEmbedder: () => Promise<Embedder | undefined>;
  /** Chunks per batch (default 32). */
  batchSize?: number;
  /** True while the word index has files to read: embedding waits for it. */
  wordIndexBusy?: () => boolean;
  /** Start paused (the person turned meaning search off). */
  paused?: boolean;
  /** Least time between two progress events while embedding (ms). */
  progressIntervalMs?: number;
}

export class VectorIndexer {
  readonly store: VectorStore;
  readonly #options: VectorIndexerOptions;
  readonly #listeners = new Set<(event: MeaningEvent) => void>();
  #status: MeaningStatus = {
    state: "no-model",
    model: null,
    embedded: 0,
    total: 0,
    chunksPerSecond: null,
    message: null,
  };
  #embedder: Embedder | undefined;
  #run: Promise<void> | undefined;
  #again = false;
  #batch: AbortController | undefined;
  #paused: boolean;
  #closed = false;
  #lastProgress = 0;

  constructor(db: Db, options: VectorIndexerOptions) {
    this.store = new VectorStore(db);
    this.#options = options;
    this.#paused = options.paused ?? false;
    const space = this.store.space();
    const counts = this.store.counts();
    this.#status = {
      ...this.#status,
      model: space?.model ?? null,
      ...counts,
      state: this.#paused ? "paused" : "no-model",
    };
  }

  on(listener: (event: MeaningEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): MeaningStatus {
    return { ...this.#status };
  }

  /** Looks for chunks without vectors and embeds them (call after the word index wrote files). */
  wake(): void {
    if (this.#closed || this.#paused) return;
    if (this.#run) {
      this.#again = true;
      return;
    }
    this.#run = this.#loop().finally(() => {
      this.#run = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** Stops embedding now (the batch in flight is dropped); `resume` carries on. */
  pause(): void {
    this.#paused = true;
    this.#batch?.abort();
    this.#set({ state: "paused", message: null, chunksPerSecond: null });
  }

  /** Carries on after a pause, or tries again after a failure. */
  resume(): void {
    const was = this.#status.state;
    this.#paused = false;
    if (was === "paused" || was === "error") this.#set({ state: "waiting", message: null });
    this.wake();
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Resolves when no batch is running (all embedded, paused, waiting for words, or failed). */
  async whenIdle(): Promise<void> {
    while (this.#run) await this.#run;
  }

  /** Forgets the open embedder (the model was removed or replaced); the next wake opens it again. */
  async reset(): Promise<void> {
    this.#batch?.abort();
    await this.whenIdle();
    const embedder = this.#embedder;
    this.#embedder = undefined;
    await embedder?.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#batch?.abort();
    await this.whenIdle();
    await this.#embedder?.close();
    this.#listeners.clear();
  }

  #set(patch: Partial<MeaningStatus>): void {
    this.#status = { ...this.#status, ...patch };
    const event: MeaningEvent = { type: "meaning", status: this.status() };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not stop indexing.
      }
    }
  }

  async #loop(): Promise<void> {
    const batchSize = Math.max(1, this.#options.batchSize ?? 32);
    let after = 0;
    let started = 0;
    let done = 0;
    try {
      for (;;) {
        if (this.#closed || this.#paused) return;
        if (this.#options.wordIndexBusy?.()) {
          this.#set({ state: "waiting", ...this.store.counts() });
          return;
        }
        this.#embedder ??= await this.#options.openEmbedder();
        const embedder = this.#embedder;
        if (!embedder) {
          this.#set({ state: "no-model", message: null, ...this.store.counts() });
          return;
        }
        this.store.use({ model: embedder.modelId, dims: embedder.dims });
        let batch = this.store.pending(batchSize, after);
        if (!batch.length && after > 0) {
          // A chunk id below the cursor may have been reused by a rewritten file: look once from the start.
          after = 0;
          batch = this.store.pending(batchSize, after);
        }
        if (!batch.length) {
          this.#set({
            state: "ready",
            model: embedder.modelId,
            message: null,
            chunksPerSecond: null,
            ...this.store.counts(),
          });
          return;
        }
        if (!started) {
          started = performance.now();
          this.#set({ state: "embedding", model: embedder.modelId, message: null, ...this.store.counts() });
        }
        const controller = new AbortController();
        this.#batch = controller;
        const vectors = await embedder.embed(
          batch.map((c) => c.text),
          controller.signal,
        );
        this.#batch = undefined;
        if (controller.signal.aborted) return;
        this.store.write(batch.map((c, i) => ({ chunkId: c.id, text: c.text, vector: vectors[i] })));
        after = batch[batch.length - 1].id;
        done += batch.length;
        const now = performance.now();
        if (now - this.#lastProgress >= (this.#options.progressIntervalMs ?? 250)) {
          this.#lastProgress = now;
          this.#set({
            state: "embedding",
            chunksPerSecond: Number((done / ((now - started) / 1000)).toFixed(1)),
            ...this.store.counts(),
          });
        }
      }
    } catch (error) {
      if (isElmwoodError(error) && error.code === "CANCELLED") return;
      const message = error instanceof Error ? error.message : String(error);
      this.#set({ state: "error", message: `Meaning search stopped: ${message}`, ...this.store.counts() });
      // A model that failed is opened afresh next time (it may have been replaced meanwhile).
      const embedder = this.#embedder;
      this.#embedder = undefined;
      await embedder?.close().catch(() => undefined);
    } finally {
      this.#batch = undefined;
    }
  }
}
