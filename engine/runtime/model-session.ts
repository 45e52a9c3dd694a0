/**
 * One loaded OpenELM model on one execution provider, with its KV cache. The cache covers the whole
 * context window and is allocated once: every run passes each layer's key/value buffer both as the
 * past input and as the present output, so GroupQueryAttention writes the new rows in place.
 *
 * The cache remembers which tokens it holds. `logitsFor(tokens)` reuses the longest common prefix with
 * them (the next chat turn, a regenerate) and only computes the rest: rewinding is just lowering the
 * valid length, because attention reads positions up to seqlens_k only.
 */
import * as ort from "onnxruntime-node";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ElmwoodError, throwIfAborted } from "../errors.ts";
import type { OpenElmConfig } from "../openelm/config.ts";
import { type LoadedManifest, MODEL_FILE, readManifest } from "../openelm/manifest.ts";
import { KvCache } from "./kv-cache.ts";
import { describeVulkan, probeVulkan } from "./vulkan-probe.ts";
import {
  defaultThreads,
  explainProviderFailure,
  gpuCandidates,
  PROVIDER_LABELS,
  type ProviderChoice,
  type ProviderName,
  platformHas,
} from "./providers.ts";

export interface LoadOptions {
  provider?: ProviderChoice;
  threads?: number;
  /** Longest prompt piece run at once; bounds attention's working memory and keeps abort prompt. */
  prefillChunk?: number;
}

export interface ActiveProvider {
  name: ProviderName;
  label: string;
  /** Why this provider: chosen explicitly, or what `auto` tried first and why it moved on. */
  reason: string;
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
    const { session, provider } = await startSession(
      join(dir, MODEL_FILE),
      options.provider ?? "auto",
      threads,
    );
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

/**
 * onnxruntime-node ships without its CUDA provider library (the install script that fetches it is
 * skipped); trying CUDA without it only produces an error, so auto mode looks for the file first.
 */
function cudaLibrariesInstalled(): boolean {
  const packageDir = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  const library =
    process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
  return existsSync(join(packageDir, "bin", "napi-v6", process.platform, process.arch, library));
}

function sessionOptions(provider: ProviderName, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    // Failures are reported by us in words; onnxruntime's own error lines would only be noise.
    logSeverityLevel: 4,
  };
}

/** Why a provider cannot be used here, before trying it; undefined when it is worth a try. */
function unavailable(provider: ProviderName, auto: boolean): string | undefined {
  if (!platformHas(provider)) return `${PROVIDER_LABELS[provider]} is not available on ${process.platform}`;
  if (provider === "cuda" && !cudaLibrariesInstalled()) {
    return "the CUDA provider libraries are not installed (see the README: GPU on Linux with NVIDIA)";
  }
  if (provider === "webgpu") {
    const vulkan = probeVulkan();
    if (vulkan.kind === "none") return `no WebGPU adapter: ${describeVulkan(vulkan)}`;
    if (auto && vulkan.kind === "software") return `${describeVulkan(vulkan)}, which is slower than the CPU`;
  }
  return undefined;
}

/** Starts the session on the chosen provider, or on the first that starts when the choice is auto. */
async function startSession(
  modelPath: string,
  choice: ProviderChoice,
  threads: number,
): Promise<{ session: ort.InferenceSession; provider: ActiveProvider }> {
  if (choice !== "auto") {
    const missing = unavailable(choice, false);
    if (missing)
      throw new ElmwoodError(
        "PROVIDER",
        `Cannot start ${PROVIDER_LABELS[choice]}: ${missing}.`,
        "Use --provider auto or cpu.",
      );
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions(choice, threads));
      const vulkan = choice === "webgpu" ? probeVulkan() : undefined;
      const reason =
        vulkan?.kind === "software" ? `chosen explicitly (${describeVulkan(vulkan)})` : "chosen explicitly";
      return { session, provider: { name: choice, label: PROVIDER_LABELS[choice], reason } };
    } catch (error) {
      throw new ElmwoodError(
        "PROVIDER",
        `Cannot start ${PROVIDER_LABELS[choice]}: ${explainProviderFailure(choice, error)}.`,
        "Use --provider auto or cpu.",
        { cause: error },
      );
    }
  }
  const skipped: string[] = [];
  for (const candidate of gpuCandidates()) {
    const missing = unavailable(candidate, true);
    if (missing) {
      skipped.push(`${PROVIDER_LABELS[candidate]}: ${missing}`);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions(candidate, threads));
      return {
        session,
        provider: {
          name: candidate,
          label: PROVIDER_LABELS[candidate],
          reason: "the first GPU provider that started",
        },
      };
    } catch (error) {
      skipped.push(explainProviderFailure(candidate, error));
    }
  }
  const session = await ort.InferenceSession.create(modelPath, sessionOptions("cpu", threads));
  return {
    session,
    provider: {
      name: "cpu",
      label: "CPU",
      reason: skipped.length ? `no GPU provider to use (${skipped.join("; ")})` : "default",
    },
  };
}
