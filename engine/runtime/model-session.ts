/**
 * One loaded OpenELM model on one execution provider, with its KV cache. The cache covers the whole
 * context window and is allocated once: every run passes each layer's key/value buffer both as the
 * past input and as the present output, so GroupQueryAttention writes the new rows in place.
 *
 * The cache remembers which tokens it holds. `logitsFor(tokens)` reuses the longest common prefix with
 * them (the next chat turn, a regenerate) and only computes the rest: rewinding is just lowering the
 * valid length, because attention reads positions up to seqlens_k only.
 */

import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { ElmwoodError, throwIfAborted } from "../errors.ts";
import type { OpenElmConfig } from "../openelm/config.ts";
import { type LoadedManifest, MODEL_FILE, readManifest } from "../openelm/manifest.ts";
import { KvCache } from "./kv-cache.ts";
import { type ActiveProvider, startSession } from "./provider-choice.ts";
import { defaultThreads, type ProviderChoice } from "./providers.ts";
import type { AdapterKind } from "./vulkan-probe.ts";

export type { ActiveProvider } from "./provider-choice.ts";

export interface LoadOptions {
  provider?: ProviderChoice;
  threads?: number;
  /** Longest prompt piece run at once; bounds attention's working memory and keeps abort prompt. */
  prefillChunk?: number;
  /**
   * What kind of GPU adapter WebGPU would use, when known better than the probe (tests use "unknown"
   * to exercise the measured choice that Windows and macOS get).
   */
  adapterKind?: AdapterKind;
  /** Where `auto` remembers measured choices; defaults to the profile's cache folder. */
  choicesFile?: string;
}

const DEFAULT_PREFILL_CHUNK = 512;

export class ModelSession {
  /** Tokens whose keys and values are in the cache, in order. */
  private cached: number[] = [];
  private readonly logits: ort.Tensor;
  private busy = false;

  private constructor(
    readonly dir: string,
    readonly model: LoadedManifest,
    private readonly session: ort.InferenceSession,
    private readonly cache: KvCache,
    readonly provider: ActiveProvider,
    private readonly prefillChunk: number,
    readonly loadMs: number,
  ) {
    this.logits = new ort.Tensor("float32", new Float32Array(model.config.vocabSize), [
      1,
      model.config.vocabSize,
    ]);
  }

  get config(): OpenElmConfig {
    return this.model.config;
  }

  get contextLength(): number {
    return this.model.config.maxContextLength;
  }

  /** How many tokens of the cache are valid. */
  get cachedLength(): number {
    return this.cached.length;
  }

  static async load(dir: string, options: LoadOptions = {}): Promise<ModelSession> {
    const started = performance.now();
    const model = await readManifest(dir);
    const threads = options.threads ?? defaultThreads();
    const { session, provider } = await startSession({
      modelPath: join(dir, MODEL_FILE),
      choice: options.provider ?? "auto",
      threads,
      adapterKind: options.adapterKind,
      choicesFile: options.choicesFile,
      modelKey: model.manifest.files.map((f) => f.sha256).join(":"),
      measure: (candidate) => ModelSession.decodeSpeed(dir, model, candidate),
    });
    return new ModelSession(
      dir,
      model,
      session,
      new KvCache(model.config),
      provider,
      options.prefillChunk ?? DEFAULT_PREFILL_CHUNK,
      performance.now() - started,
    );
  }

  /**
   * Decode tokens per second of a session, after a warm-up (first runs compile shaders and pack
   * weights): the measure `auto` compares providers by when it cannot tell what an adapter is.
   */
  static async decodeSpeed(
    dir: string,
    model: LoadedManifest,
    session: ort.InferenceSession,
  ): Promise<number> {
    const probe = new ModelSession(
      dir,
      model,
      session,
      new KvCache(model.config),
      { name: "cpu", label: "", reason: "" },
      64,
      0,
    );
    const tokens = [model.config.bosTokenId, ...Array.from({ length: 15 }, (_, i) => 1000 + i)];
    await probe.logitsFor(tokens);
    for (let i = 0; i < 2; i++)
      await probe.logitsFor([...tokens, ...Array.from({ length: i + 1 }, () => 500)]);
    const steps = 6;
    const started = performance.now();
    for (let i = 0; i < steps; i++)
      await probe.logitsFor([...tokens, ...Array.from({ length: i + 3 }, () => 500)]);
    return (steps / (performance.now() - started)) * 1000;
  }

  /** Forget the cache (the next call recomputes everything). */
  reset(): void {
    this.cached = [];
  }

  /** Length of the cached prefix that `tokens` shares. */
  commonPrefix(tokens: readonly number[]): number {
    const n = Math.min(tokens.length, this.cached.length);
    let i = 0;
    while (i < n && tokens[i] === this.cached[i]) i++;
    return i;
  }

  /**
   * Logits for the position after `tokens`, computing only what the cache does not already hold.
   * Returns a view that the next call overwrites; copy it to keep it.
   */
  async logitsFor(
    tokens: readonly number[],
    signal?: AbortSignal,
  ): Promise<{ logits: Float32Array; reused: number; computed: number }> {
    if (tokens.length === 0)
      throw new ElmwoodError(
        "BAD_INPUT",
        "There are no tokens to run.",
        "Give a prompt of at least one token.",
      );
    this.checkTokens(tokens);
    let reused = this.commonPrefix(tokens);
    // The last token must run to produce logits, even when the whole request is cached.
    if (reused === tokens.length) reused--;
    this.cached.length = reused;
    for (let start = reused; start < tokens.length; start += this.prefillChunk) {
      throwIfAborted(signal, "Generation");
      await this.run(tokens.slice(start, Math.min(tokens.length, start + this.prefillChunk)));
    }
    return { logits: this.logits.data as Float32Array, reused, computed: tokens.length - reused };
  }

  /** Runs new tokens on top of the cache and appends them to it. */
  private async run(fresh: readonly number[]): Promise<void> {
    const total = this.cached.length + fresh.length;
    if (total > this.contextLength) {
      throw new ElmwoodError(
        "CONTEXT_OVERFLOW",
        `The request needs ${total} tokens but the model's window is ${this.contextLength}.`,
        "Shorten the prompt, lower the reply length, or start a new chat.",
      );
    }
    if (this.busy)
      throw new ElmwoodError(
        "BUSY",
        "This model is already generating.",
        "Wait for the current reply to finish.",
      );
    this.busy = true;
    try {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor("int64", BigInt64Array.from(fresh, BigInt), [1, fresh.length]),
        seqlens_k: new ort.Tensor("int32", Int32Array.of(total - 1), [1]),
        total_sequence_length: new ort.Tensor("int32", Int32Array.of(total), []),
      };
      const fetches: Record<string, ort.Tensor> = { logits: this.logits };
      this.cache.tensorsFor(total, this.cached.length).forEach((layer, i) => {
        feeds[`past_key_values.${i}.key`] = layer.key;
        feeds[`past_key_values.${i}.value`] = layer.value;
        fetches[`present.${i}.key`] = layer.key;
        fetches[`present.${i}.value`] = layer.value;
      });
      await this.session.run(feeds, fetches);
      this.cached.push(...fresh);
    } finally {
      this.busy = false;
    }
  }

  private checkTokens(tokens: readonly number[]): void {
    const vocab = this.config.vocabSize;
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= vocab) {
        throw new ElmwoodError(
          "BAD_INPUT",
          `Token id ${t} is out of range.`,
          `Token ids go from 0 to ${vocab - 1}.`,
        );
      }
    }
    if (tokens.length > this.contextLength) {
      throw new ElmwoodError(
        "CONTEXT_OVERFLOW",
        `The prompt is ${tokens.length} tokens but the model's window is ${this.contextLength}.`,
        "Shorten the prompt or start a new chat.",
      );
    }
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
