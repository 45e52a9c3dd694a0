/**
 * The embedding model as search and indexing use it, for the service and the CLI alike: which model
 * is installed, a query embedder in this thread (a few milliseconds for a short query, so search
 * stays one synchronous-feeling call), and a document embedder in a worker thread for indexing.
 * With no model installed, both are absent and search stays by words.
 */
import { availableParallelism } from "node:os";
import { defaultEmbeddingEntry } from "../../models/embedding-catalog.ts";
import { type InstalledEmbedding, listEmbeddings } from "../../models/embedding-store.ts";
import { type Embedder, OnnxEmbedder } from "../documents/embedding/embedder.ts";
import { WorkerEmbedder } from "../documents/embedding/worker-embedder.ts";
import type { MeaningIndex } from "../documents/hybrid-search.ts";
import type { MeaningStatus } from "../documents/vector-indexer.ts";
import { VectorStore } from "../documents/vectors/vector-store.ts";
import type { ElmwoodPaths } from "../paths.ts";
import type { Db } from "../store/database.ts";

/** Query vectors kept for repeated queries (typing back and forth, the same search run twice). */
const QUERY_CACHE = 128;

export interface MeaningOptions {
  paths: ElmwoodPaths;
  /** Tests pass a deterministic embedder for both queries and documents. */
  embedder?: Embedder;
  /** Threads for the document embedder; default one fewer than the cores, at least one. */
  threads?: number;
}

export class MeaningModels {
  private queryModel: Promise<OnnxEmbedder> | undefined;
  private queryModelId: string | undefined;
  private readonly cache = new Map<string, Float32Array>();
  private found: Promise<InstalledEmbedding | undefined> | undefined;

  constructor(private readonly options: MeaningOptions) {}

  /** The installed embedding model search uses (the catalog's, else the first that checks out). */
  installed(): Promise<InstalledEmbedding | undefined> {
    this.found ??= listEmbeddings(this.options.paths).then(
      ({ models }) => models.find((m) => m.name === defaultEmbeddingEntry().slug) ?? models[0],
    );
    return this.found;
  }

  /** Whether a model (or a test's stand-in) is there to embed with. */
  async available(): Promise<boolean> {
    return this.options.embedder !== undefined || (await this.installed()) !== undefined;
  }

  /** A new document embedder in a worker, or undefined without a model. */
  async documentEmbedder(): Promise<Embedder | undefined> {
    if (this.options.embedder) return this.options.embedder;
    const model = await this.installed();
    if (!model) return undefined;
    const threads = this.options.threads ?? Math.max(1, availableParallelism() - 1);
    return WorkerEmbedder.start(model.dir, { modelId: model.modelId, onnx: model.onnx, threads });
  }

  /** What hybrid search needs, or undefined when the index has no vectors of the installed model. */
  async meaningIndex(db: Db): Promise<MeaningIndex | undefined> {
    const store = new VectorStore(db);
    const space = store.space();
    if (!space) return undefined;
    const embed = await this.queryEmbedder();
    if (!embed || embed.modelId !== space.model) return undefined;
    return { store, embedQuery: embed.embedQuery };
  }

  /**
   * Where meaning search stands when no indexer is running here (the CLI): the installed model, and
   * how many chunks have its vectors. Chunks without one get it when the app or 'elmwood index
   * sync' runs.
   */
  async snapshot(db: Db): Promise<MeaningStatus> {
    const store = new VectorStore(db);
    const counts = store.counts();
    const modelId = this.options.embedder?.modelId ?? (await this.installed())?.modelId;
    const base = { chunksPerSecond: null, message: null, total: counts.total };
    if (!modelId) return { ...base, state: "no-model", model: null, embedded: 0 };
    if (store.space()?.model !== modelId) return { ...base, state: "waiting", model: modelId, embedded: 0 };
    return {
      ...base,
      state: counts.embedded >= counts.total ? "ready" : "waiting",
      model: modelId,
      embedded: counts.embedded,
    };
  }

  /** Forgets loaded models (after one was installed or removed). */
  async reset(): Promise<void> {
    this.found = undefined;
    const loading = this.queryModel;
    this.queryModel = undefined;
    this.queryModelId = undefined;
    this.cache.clear();
    await loading?.then(
      (m) => m.close(),
      () => undefined,
    );
  }

  async close(): Promise<void> {
    await this.reset();
  }

  private async queryEmbedder(): Promise<
    { modelId: string; embedQuery: (text: string) => Promise<Float32Array> } | undefined
  > {
    const stub = this.options.embedder;
    if (stub) return { modelId: stub.modelId, embedQuery: async (text) => (await stub.embed([text]))[0] };
    const model = await this.installed();
    if (!model) return undefined;
    if (this.queryModelId !== model.modelId) {
      await this.queryModel?.then(
        (m) => m.close(),
        () => undefined,
      );
      this.cache.clear();
      this.queryModelId = model.modelId;
      this.queryModel = OnnxEmbedder.load(model.dir, {
        modelId: model.modelId,
        onnx: model.onnx,
        threads: 1,
      });
      this.queryModel.catch(() => {
        this.queryModel = undefined;
        this.queryModelId = undefined;
      });
    }
    const loading = this.queryModel;
    if (!loading) return undefined;
    const embedder = await loading;
    return {
      modelId: model.modelId,
      embedQuery: async (text) => {
        const hit = this.cache.get(text);
        if (hit) {
          this.cache.delete(text);
          this.cache.set(text, hit);
          return hit;
        }
        const [vector] = await embedder.embed([text]);
        this.cache.set(text, vector);
        if (this.cache.size > QUERY_CACHE) this.cache.delete(this.cache.keys().next().value as string);
        return vector;
      },
    };
  }
}
