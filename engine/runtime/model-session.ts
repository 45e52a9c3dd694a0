/**
 * One loaded OpenELM model on one execution provider, with its KV cache. The session is driven
 * through onnxruntime's C API with IO binding (ort/native-session.ts): the cache covers the whole
 * context window, lives in memory onnxruntime owns and is bound as past and present, so the graph
 * writes the new rows in place; per step JavaScript writes the new token ids and the cached length
 * into host tensors and copies the logits out (128 KB for a 32,000-token vocabulary).
 *
 * The CPU runs the model's graph with standard attention (model-cpu-2.onnx) and GPU providers the one
 * with GroupQueryAttention (model.onnx). For a model converted before model-cpu-2.onnx existed, the
 * CPU graph is built in memory from its model.onnx (openelm/cpu-graph.ts). Which one a session holds
 * is read from its inputs.
 *
 * The cache remembers which tokens it holds. `logitsFor(tokens)` reuses the longest common prefix with
 * them (the next chat turn, a regenerate) and only computes the rest: rewinding is just lowering the
 * valid length, because attention reads positions up to it only.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ElmwoodError, throwIfAborted } from "../errors.ts";
import type { OpenElmConfig } from "../openelm/config.ts";
import { cpuGraphFromGrouped } from "../openelm/cpu-graph.ts";
import type { AttentionKind, BlockSize } from "../openelm/graph.ts";
import { CPU_MODEL_FILE, type LoadedManifest, MODEL_FILE, readManifest } from "../openelm/manifest.ts";
import { cpuGraphFileRunsHere } from "./int8-gemm-check.ts";
import { KvCache } from "./kv-cache.ts";
import type { ModelSource, NativeSession, NativeTensor } from "./ort/native-session.ts";
import { type ActiveProvider, startSession } from "./provider-choice.ts";
import { defaultThreads, type ProviderChoice } from "./providers.ts";
import type { AdapterKind } from "./vulkan-probe.ts";

export type { ActiveProvider } from "./provider-choice.ts";

export interface LoadOptions {
  provider?: ProviderChoice;
  threads?: number;
  /** Longest prompt piece run at once (default 128); bounds attention's working memory and keeps abort prompt. */
  prefillChunk?: number;
  /**
   * What kind of GPU adapter WebGPU would use, when known better than the probe (tests use "unknown"
   * to exercise the measured choice that Windows and macOS get).
   */
  adapterKind?: AdapterKind;
  /** Where `auto` remembers measured choices; defaults to the profile's cache folder. */
  choicesFile?: string;
  /** Records onnxruntime's profile of every run, written by `endProfiling()` (the benchmark's use). */
  profilePrefix?: string;
}

/**
 * Where single-token (decode) runs spend their time, for the benchmark's breakdown: inside
 * onnxruntime's run, and moving data in and out of it (writing the inputs, copying the logits out).
 */
export interface RunStats {
  runs: number;
  runMs: number;
  copyMs: number;
}

/**
 * Prompt tokens run at once. Attention's scratch for a chunk is heads x chunk x cached rows floats
 * (GroupQueryAttention's: x the whole window), so smaller chunks keep peak memory down. Measured on
 * the 270M shape, alternating: with GroupQueryAttention, 128 prefilled an 1,800-token prompt faster
 * than 256 or 512 (306 vs 271-303 tok/s, peak RSS 389 vs 435-520 MB) and a 256-token one as fast;
 * with the CPU graph's Attention, 128 against 256 was as fast or faster at 256 and 1,792 tokens with
 * about 70 MB less peak memory.
 */
export const DEFAULT_PREFILL_CHUNK = 128;

/**
 * The CPU's graph: model-cpu-2.onnx, or one built from model.onnx for an older model, or for an int8
 * model on a CPU whose int8 GEMM saturates.
 */
async function cpuGraph(dir: string, model: LoadedManifest): Promise<ModelSource> {
  const hasCpuGraph = model.manifest.files.some((f) => f.path === CPU_MODEL_FILE);
  // An int8 CPU graph runs its normed-input layers on the int8 GEMM, which saturates on x64 CPUs
  // without VNNI; there the graph is built from model.onnx, on MatMulNBits alone (int8-gemm-check.ts).
  if (hasCpuGraph && cpuGraphFileRunsHere(model.manifest.precision)) return join(dir, CPU_MODEL_FILE);
  const grouped = await readFile(join(dir, MODEL_FILE));
  const blockSize = model.manifest.quantization?.blockSize as BlockSize | undefined;
  try {
    const bytes = cpuGraphFromGrouped(grouped, model.config, model.manifest.precision, blockSize);
    return { bytes, externalDataFolder: dir };
  } catch {
    // A graph this code cannot rebuild around still runs as it was converted, only slower.
    return join(dir, MODEL_FILE);
  }
}

export class ModelSession {
  /** Tokens whose keys and values are in the cache, in order. */
  private cached: number[] = [];
  private readonly logits: Float32Array;
  private readonly logitsOut: NativeTensor;
  /** The lengths the graph takes: past_length (standard), or seqlens_k and total_sequence_length. */
  private readonly lengths: NativeTensor[];
  /** The one-token input every decode step reuses. */
  private readonly nextToken: NativeTensor;
  private readonly cache: KvCache;
  private busy = false;
  readonly stats: RunStats = { runs: 0, runMs: 0, copyMs: 0 };

  private constructor(
    readonly dir: string,
    readonly model: LoadedManifest,
    private readonly session: NativeSession,
    readonly provider: ActiveProvider,
    private readonly prefillChunk: number,
    readonly loadMs: number,
  ) {
    const vocab = model.config.vocabSize;
    this.logits = new Float32Array(vocab);
    this.logitsOut = session.hostTensor("float32", [1, vocab]);
    session.bindOutput("logits", this.logitsOut);
    const kind: AttentionKind = session.inputNames().includes("past_length") ? "standard" : "grouped";
    this.lengths =
      kind === "standard"
        ? [session.hostTensor("int64", [])]
        : [session.hostTensor("int32", [1]), session.hostTensor("int32", [])];
    this.nextToken = session.hostTensor("int64", [1, 1]);
    this.cache = new KvCache(session, model.config, kind);
  }

  get config(): OpenElmConfig {
    return this.model.config;
  }

  /** Which attention the loaded graph uses: standard (model-cpu-2.onnx) or grouped (model.onnx). */
  get attention(): AttentionKind {
    return this.cache.kind;
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
    // `auto` may start the CPU twice (to compare it with a GPU, then to keep it): build its graph once.
    let cpu: Promise<ModelSource> | undefined;
    const cpuSource = () => {
      cpu ??= cpuGraph(dir, model);
      return cpu;
    };
    const { session, provider } = await startSession({
      modelFor: async (name) => (name === "cpu" ? cpuSource() : join(dir, MODEL_FILE)),
      choice: options.provider ?? "auto",
      threads,
      adapterKind: options.adapterKind,
      choicesFile: options.choicesFile,
      modelKey: model.manifest.files.map((f) => f.sha256).join(":"),
      measure: (candidate) => ModelSession.decodeSpeed(dir, model, candidate),
      profilePrefix: options.profilePrefix,
    });
    return new ModelSession(
      dir,
      model,
      session,
      provider,
      options.prefillChunk ?? DEFAULT_PREFILL_CHUNK,
      performance.now() - started,
    );
  }

  /**
   * Decode tokens per second of a session, after a warm-up (first runs compile shaders and pack
   * weights): the measure `auto` compares providers by when it cannot tell what an adapter is.
   */
  static async decodeSpeed(dir: string, model: LoadedManifest, session: NativeSession): Promise<number> {
    const probe = new ModelSession(dir, model, session, { name: "cpu", label: "", reason: "" }, 64, 0);
    try {
      const tokens = [model.config.bosTokenId, ...Array.from({ length: 15 }, (_, i) => 1000 + i)];
      await probe.logitsFor(tokens);
      for (let i = 0; i < 2; i++)
        await probe.logitsFor([...tokens, ...Array.from({ length: i + 1 }, () => 500)]);
      const steps = 6;
      const started = performance.now();
      for (let i = 0; i < steps; i++)
        await probe.logitsFor([...tokens, ...Array.from({ length: i + 3 }, () => 500)]);
      return (steps / (performance.now() - started)) * 1000;
    } finally {
      probe.releaseTensors(); // the session is kept (or released) by the caller
    }
  }

  /** Gives this object's tensors back to the session without releasing the session. */
  private releaseTensors(): void {
    for (const tensor of [this.logitsOut, ...this.lengths, this.nextToken]) {
      this.session.releaseTensor(tensor);
    }
    this.cache.release();
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
      // A run blocks this thread; between runs the event loop takes its messages (an abort among
      // them) before the next one starts.
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(signal, "Generation");
      await this.run(tokens.slice(start, Math.min(tokens.length, start + this.prefillChunk)));
    }
    return { logits: this.logits, reused, computed: tokens.length - reused };
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
    const copyStarted = performance.now();
    const ids = fresh.length === 1 ? this.nextToken : this.session.hostTensor("int64", [1, fresh.length]);
    try {
      // Bound after writing, every run: for a GPU provider onnxruntime copies a host input to the
      // device when it is bound, so a value written after binding would not be seen.
      ids.write(fresh);
      this.session.bindInput("input_ids", ids);
      if (this.cache.kind === "standard") {
        const [pastLength] = this.lengths;
        pastLength.write([this.cached.length]);
        this.session.bindInput("past_length", pastLength);
      } else {
        const [seqlensK, totalLength] = this.lengths;
        seqlensK.write([total - 1]);
        totalLength.write([total]);
        this.session.bindInput("seqlens_k", seqlensK);
        this.session.bindInput("total_sequence_length", totalLength);
      }
      this.cache.prepare(total);
      const runStarted = performance.now();
      this.session.run();
      const runEnded = performance.now();
      this.logitsOut.readInto(this.logits);
      if (fresh.length === 1) {
        this.stats.runs++;
        this.stats.runMs += runEnded - runStarted;
        this.stats.copyMs += runStarted - copyStarted + (performance.now() - runEnded);
      }
      this.cached.push(...fresh);
    } finally {
      // The binding keeps its own reference until input_ids is bound again.
      if (ids !== this.nextToken) this.session.releaseTensor(ids);
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

  /** Ends the profile started with `profilePrefix` and returns its file's path. */
  endProfiling(): string {
    return this.session.endProfiling();
  }

  async close(): Promise<void> {
    this.session.release();
  }
}
