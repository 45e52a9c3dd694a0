/**
 * Sentence vectors from an embedding model on onnxruntime-node's CPU provider. Texts are tokenized
 * with the model's tokenizer, sorted by length and run in batches padded to their longest member (so
 * a batch of short texts is not padded to the longest chunk of the index), then pooled and normalized
 * as the model's files say. The output buffer is allocated here and handed to onnxruntime, so the
 * hidden states land in memory JavaScript owns.
 */
import * as ort from "onnxruntime-node";
import { ElmwoodError, throwIfAborted } from "../../errors.ts";
import { ortEnvironment } from "../../runtime/ort/environment.ts";
import { type EmbeddingModelFiles, readEmbeddingModel } from "./model-files.ts";
import { poolSentences } from "./pooling.ts";
import { type EmbeddingTokenizer, embeddingTokenizer } from "./tokenize.ts";

/** What turns text into vectors: the ONNX model, or a stand-in in tests. */
export interface Embedder {
  /** Names the vector space: vectors made under different ids are never compared. */
  readonly modelId: string;
  readonly dims: number;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export interface OnnxEmbedderOptions {
  /** onnxruntime's intra-op threads; default 1. */
  threads?: number;
  /** The vector space's name; default the folder. */
  modelId?: string;
  /** The ONNX graph inside the folder; default onnx/model.onnx. */
  onnx?: string;
  /** Padded tokens per run (batch x longest); bounds the attention's working memory. */
  tokensPerRun?: number;
}

const OUTPUT = "last_hidden_state";

export class OnnxEmbedder implements Embedder {
  private closed = false;

  private constructor(
    readonly modelId: string,
    readonly files: EmbeddingModelFiles,
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: EmbeddingTokenizer,
    private readonly output: string,
    private readonly tokensPerRun: number,
  ) {}

  get dims(): number {
    return this.files.dims;
  }

  get maxTokens(): number {
    return this.files.maxTokens;
  }

  static async load(dir: string, options: OnnxEmbedderOptions = {}): Promise<OnnxEmbedder> {
    const files = await readEmbeddingModel(dir, options.onnx);
    const tokenizer = embeddingTokenizer(files.tokenizerJson, files.tokenizerConfig, files.maxTokens);
    ortEnvironment(); // onnxruntime's telemetry is off before any session exists in this process
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(`${dir}/${files.onnx}`, {
        executionProviders: ["cpu"],
        intraOpNumThreads: Math.max(1, options.threads ?? 1),
        interOpNumThreads: 1,
        graphOptimizationLevel: "all",
      });
    } catch (error) {
      throw new ElmwoodError(
        "MODEL",
        `The embedding model's ONNX graph in ${dir} does not load (${(error as Error).message}).`,
        "Remove the model and download it again.",
        { cause: error },
      );
    }
    for (const name of ["input_ids", "attention_mask"]) {
      if (!session.inputNames.includes(name)) {
        await session.release();
        throw new ElmwoodError(
          "MODEL",
          `The embedding model's graph has no '${name}' input (it has ${session.inputNames.join(", ")}).`,
          "Use a sentence-transformers model exported to ONNX with its token inputs.",
        );
      }
    }
    const output = session.outputNames.includes(OUTPUT) ? OUTPUT : session.outputNames[0];
    return new OnnxEmbedder(
      options.modelId ?? dir,
      files,
      session,
      tokenizer,
      output,
      Math.max(256, options.tokensPerRun ?? 4096),
    );
  }

  /** Token ids as the model reads them (for tests and tools). */
  encode(text: string) {
    return this.tokenizer.encode(text);
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closed) throw new ElmwoodError("CANCELLED", "The embedding model was closed.");
    const encoded = texts.map((t) => this.tokenizer.encode(t));
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a].ids.length - encoded[b].ids.length);
    const vectors: Float32Array[] = new Array(texts.length);
    let start = 0;
    while (start < order.length) {
      // Longest last: a run holds as many of the next texts as fit the token budget padded to the longest.
      let end = start + 1;
      while (end < order.length && (end - start + 1) * encoded[order[end]].ids.length <= this.tokensPerRun)
        end++;
      throwIfAborted(signal, "Embedding");
      const batch = order.slice(start, end).map((i) => encoded[i]);
      const pooled = await this.run(batch);
      order.slice(start, end).forEach((index, k) => {
        vectors[index] = pooled[k];
      });
      start = end;
    }
    return vectors;
  }

  private async run(batch: ReturnType<EmbeddingTokenizer["encode"]>[]): Promise<Float32Array[]> {
    const seq = Math.max(...batch.map((e) => e.ids.length));
    const size = batch.length * seq;
    const ids = new BigInt64Array(size).fill(BigInt(this.tokenizer.padId));
    const mask = new BigInt64Array(size);
    const types = new BigInt64Array(size);
    batch.forEach((e, b) => {
      for (let t = 0; t < e.ids.length; t++) {
        ids[b * seq + t] = BigInt(e.ids[t]);
        mask[b * seq + t] = 1n;
        types[b * seq + t] = BigInt(e.typeIds[t]);
      }
    });
    const dims: [number, number] = [batch.length, seq];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, dims),
      attention_mask: new ort.Tensor("int64", mask, dims),
    };
    if (this.session.inputNames.includes("token_type_ids"))
      feeds.token_type_ids = new ort.Tensor("int64", types, dims);
    const hidden = new Float32Array(size * this.files.dims);
    const fetches = {
      [this.output]: new ort.Tensor("float32", hidden, [batch.length, seq, this.files.dims]),
    };
    try {
      await this.session.run(feeds, fetches);
    } catch (error) {
      throw new ElmwoodError(
        "MODEL",
        `The embedding model failed on a batch of ${batch.length} texts (${(error as Error).message}).`,
        "If this repeats, remove the embedding model and download it again.",
        { cause: error },
      );
    }
    return poolSentences(
      hidden,
      batch.map((e) => e.ids.length),
      seq,
      this.files.dims,
      this.files.pooling,
      this.files.normalize,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}
