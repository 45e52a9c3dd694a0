/**
 * One onnxruntime inference session driven through the C API with IO binding (see c-api.ts for why).
 *
 * Inputs and outputs are bound once to tensors that onnxruntime allocated, in host memory or, for a
 * GPU provider, in the memory the session wants for that input; a run then reads and writes them in
 * place. JavaScript writes its few inputs (token ids, lengths) into host tensors and copies results
 * out into buffers it owns: no external ArrayBuffer is ever created, as Electron requires.
 */
import koffi from "koffi";
import type { ProviderName } from "../providers.ts";
import { check, type OrtApi, ortLibrary, outPointer, type Pointer } from "./c-api.ts";
import { ortEnvironment } from "./environment.ts";

/** ONNX tensor element types used here (onnxruntime_c_api.h ONNXTensorElementDataType). */
export const ElementType = { float32: 1, uint8: 2, int32: 6, int64: 7, float16: 10 } as const;
export type ElementTypeName = keyof typeof ElementType;
const BYTES: Record<ElementTypeName, number> = { float32: 4, uint8: 1, int32: 4, int64: 8, float16: 2 };
/** The koffi type write() encodes each element type with (the others are not written from JavaScript). */
const WRITABLE: Partial<Record<ElementTypeName, string>> = {
  int32: "int32_t",
  int64: "int64_t",
  float32: "float",
};

/** onnxruntime's graph optimization level ORT_ENABLE_ALL, execution mode ORT_SEQUENTIAL, log FATAL. */
const OPTIMIZE_ALL = 99;
const SEQUENTIAL = 0;
const LOG_FATAL = 4;

/**
 * A model to start: a file, or a graph in memory whose external data lies in `externalDataFolder`
 * (onnxruntime resolves external data against the model file's folder, which a graph in memory has
 * not got).
 */
export type ModelSource = string | { bytes: Uint8Array; externalDataFolder: string };

export interface NativeSessionOptions {
  provider: ProviderName;
  /** Intra-op threads (the calling thread included). */
  threads: number;
  /** Session configuration entries, e.g. "session.intra_op.allow_spinning" -> "0". */
  config?: Record<string, string>;
  /** 0 (verbose) to 4 (fatal, the default: failures are reported by Elmwood in words). */
  logLevel?: number;
  /** Records a profile of every run, written to `<prefix>_<date>.json` by `endProfiling()`. */
  profilePrefix?: string;
}

/** A tensor onnxruntime allocated; host tensors can be written and read from JavaScript. */
export class NativeTensor {
  private released = false;

  constructor(
    readonly value: Pointer,
    readonly type: ElementTypeName,
    readonly shape: readonly number[],
    /** Its data in host memory, or null when it lives on a device. */
    readonly hostData: Pointer | null,
  ) {}

  get elements(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get bytes(): number {
    return this.elements * BYTES[this.type];
  }

  /** Writes values at the start of a host tensor (int32, int64 or float32 ones). */
  write(values: ArrayLike<number>): void {
    const data = this.host();
    if (values.length > this.elements) throw new RangeError("more values than the tensor holds");
    const koffiType = WRITABLE[this.type];
    if (!koffiType) throw new TypeError(`write() takes int32, int64 or float32 tensors, not ${this.type}`);
    const list = Array.from(values);
    koffiEncode(data, koffiType, list);
  }

  /** Copies the tensor's bytes into a JavaScript typed array (which stays JavaScript memory). */
  readInto(target: ArrayBufferView): void {
    ortLibrary().copyOut(target, this.host(), Math.min(this.bytes, target.byteLength));
  }

  /** Zeroes bytes [from, to) of a host tensor. */
  zero(from: number, to: number): void {
    if (from < 0 || to > this.bytes || from > to) throw new RangeError("outside the tensor");
    ortLibrary().zero(this.host() + BigInt(from), to - from);
  }

  /** Moves `bytes` bytes of a host tensor from offset `from` to offset `to` (the ranges may overlap). */
  move(from: number, to: number, bytes: number): void {
    if (bytes === 0 || from === to) return;
    if (Math.min(from, to) < 0 || Math.max(from, to) + bytes > this.bytes)
      throw new RangeError("outside the tensor");
    const data = this.host();
    ortLibrary().move(data + BigInt(to), data + BigInt(from), bytes);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    ortLibrary().api.ReleaseValue(this.value);
  }

  private host(): Pointer {
    if (this.hostData === null) throw new Error("this tensor lives on a device, not in host memory");
    return this.hostData;
  }
}

function koffiEncode(pointer: Pointer, type: string, values: number[]): void {
  if (values.length === 1) koffi.encode(pointer, type, type === "int64_t" ? BigInt(values[0]) : values[0]);
  else koffi.encode(pointer, type, type === "int64_t" ? values.map(BigInt) : values, values.length);
}

/** How each provider is appended to the session options. */
function appendProvider(api: OrtApi, options: Pointer, provider: ProviderName): void {
  const library = ortLibrary();
  switch (provider) {
    case "cpu":
      // A memory pattern is planned and kept per set of input shapes, and ours keep changing (every
      // prompt's length, the cache view growing every 64 tokens), so the plans were mostly made and
      // not reused. Without them the arena serves each run directly: peak RSS 22 MB lower in each of
      // three alternating rounds of the benchmark child, speed within this machine's noise (decode
      // 0.94-1.11x, prefill 0.98-1.09x; ARCHITECTURE).
      check(api.DisableMemPattern(options));
      return;
    case "webgpu":
      check(api.SessionOptionsAppendExecutionProvider(options, "WebGPU", [], [], 0));
      return;
    case "cuda": {
      const cuda = outPointer((out) => api.CreateCUDAProviderOptions(out));
      try {
        check(api.SessionOptionsAppendExecutionProvider_CUDA_V2(options, cuda));
      } finally {
        api.ReleaseCUDAProviderOptions(cuda);
      }
      return;
    }
    case "dml": {
      // DirectML has no memory-pattern planning and runs nodes one at a time (onnxruntime's docs).
      check(api.DisableMemPattern(options));
      check(api.SetSessionExecutionMode(options, SEQUENTIAL));
      const append = library.exported(
        "void *OrtSessionOptionsAppendExecutionProvider_DML(void *options, int device)",
      );
      if (!append) throw new Error("this onnxruntime build has no DirectML provider");
      check(append(options, 0));
      return;
    }
    case "coreml": {
      const append = library.exported(
        "void *OrtSessionOptionsAppendExecutionProvider_CoreML(void *options, uint32_t flags)",
      );
      if (!append) throw new Error("this onnxruntime build has no CoreML provider");
      check(append(options, 0));
      return;
    }
  }
}

export class NativeSession {
  private readonly allocators = new Map<string, Pointer>();
  private readonly tensors = new Set<NativeTensor>();
  private readonly hostAllocator: Pointer;
  private inputNamesRead: string[] | undefined;
  private cpuMemoryInfo: Pointer | undefined;
  private released = false;

  private constructor(
    private readonly api: OrtApi,
    private readonly session: Pointer,
    private readonly binding: Pointer,
    readonly provider: ProviderName,
  ) {
    this.hostAllocator = outPointer((out) => api.GetAllocatorWithDefaultOptions(out));
  }

  /** Creates a session for a model; throws onnxruntime's error when the provider cannot start. */
  static create(model: ModelSource, options: NativeSessionOptions): NativeSession {
    const library = ortLibrary();
    const { api } = library;
    const env = ortEnvironment(library);
    const sessionOptions = outPointer((out) => api.CreateSessionOptions(out));
    try {
      check(api.SetIntraOpNumThreads(sessionOptions, options.threads));
      check(api.SetInterOpNumThreads(sessionOptions, 1));
      check(api.SetSessionGraphOptimizationLevel(sessionOptions, OPTIMIZE_ALL));
      check(api.SetSessionExecutionMode(sessionOptions, SEQUENTIAL));
      check(api.SetSessionLogSeverityLevel(sessionOptions, options.logLevel ?? LOG_FATAL));
      for (const [key, value] of Object.entries(options.config ?? {})) {
        check(api.AddSessionConfigEntry(sessionOptions, key, value));
      }
      if (options.profilePrefix) check(api.EnableProfiling(sessionOptions, options.profilePrefix));
      if (typeof model !== "string") {
        const key = "session.model_external_initializers_file_folder_path";
        check(api.AddSessionConfigEntry(sessionOptions, key, model.externalDataFolder));
      }
      appendProvider(api, sessionOptions, options.provider);
      // onnxruntime parses the bytes during the call and keeps no pointer to them.
      const session = outPointer((out) =>
        typeof model === "string"
          ? api.CreateSession(env, model, sessionOptions, out)
          : api.CreateSessionFromArray(env, model.bytes, model.bytes.byteLength, sessionOptions, out),
      );
      const binding = outPointer((out) => api.CreateIoBinding(session, out));
      return new NativeSession(api, session, binding, options.provider);
    } finally {
      api.ReleaseSessionOptions(sessionOptions);
    }
  }

  /** A tensor in host memory, for inputs JavaScript writes and outputs it reads. */
  hostTensor(type: ElementTypeName, shape: readonly number[]): NativeTensor {
    return this.allocate(this.hostAllocator, type, shape, true);
  }

  /**
   * A tensor over the first elements of a host tensor's memory, with its own shape: no copy. The
   * memory stays `base`'s, so a run must not use the view once `base` is released (releasing the view
   * itself frees nothing). The CPU cache binds such views.
   */
  hostView(base: NativeTensor, shape: readonly number[]): NativeTensor {
    const data = base.hostData;
    if (data === null) throw new Error("views are of host tensors only");
    const elements = shape.reduce((a, b) => a * b, 1);
    if (elements > base.elements) throw new RangeError("a view cannot be larger than its tensor");
    const bytes = elements * BYTES[base.type];
    const dims = BigInt64Array.from(shape, (d) => BigInt(d));
    const value = outPointer((out) =>
      this.api.CreateTensorWithDataAsOrtValue(
        this.cpuMemory(),
        data,
        bytes,
        dims,
        shape.length,
        ElementType[base.type],
        out,
      ),
    );
    const view = new NativeTensor(value, base.type, shape, data);
    this.tensors.add(view);
    return view;
  }

  /** The names of the graph's inputs. */
  inputNames(): readonly string[] {
    return this.inputNamesRead ?? this.readInputNames();
  }

  /**
   * A tensor in the memory the session reads input `name` from: device memory on a GPU provider, so
   * a cache bound as input and output never crosses the bus. Not readable from JavaScript there.
   */
  inputTensor(name: string, type: ElementTypeName, shape: readonly number[]): NativeTensor {
    const allocator = this.allocatorForInput(name);
    if (allocator === null) return this.hostTensor(type, shape);
    return this.allocate(allocator, type, shape, false);
  }

  bindInput(name: string, tensor: NativeTensor): void {
    check(this.api.BindInput(this.binding, name, tensor.value));
  }

  bindOutput(name: string, tensor: NativeTensor): void {
    check(this.api.BindOutput(this.binding, name, tensor.value));
  }

  /** Runs the graph on the bound tensors; outputs on a device are synchronized before it returns. */
  run(): void {
    if (this.released) throw new Error("the session was released");
    check(this.api.RunWithBinding(this.session, null, this.binding));
    if (this.provider !== "cpu") check(this.api.SynchronizeBoundOutputs(this.binding));
  }

  /** Stops profiling and returns the profile's file name (enabled with `profilePrefix`). */
  endProfiling(): string {
    const name = outPointer((out) => this.api.SessionEndProfiling(this.session, this.hostAllocator, out));
    const file = koffi.decode(name, "char", -1) as string;
    check(this.api.AllocatorFree(this.hostAllocator, name));
    return file;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const tensor of this.tensors) tensor.release();
    this.tensors.clear();
    this.api.ReleaseIoBinding(this.binding);
    for (const allocator of this.allocators.values()) this.api.ReleaseAllocator(allocator);
    this.allocators.clear();
    this.api.ReleaseSession(this.session);
    if (this.cpuMemoryInfo) this.api.ReleaseMemoryInfo(this.cpuMemoryInfo);
  }

  /** Forgets a tensor made by this session (released now rather than with the session). */
  releaseTensor(tensor: NativeTensor): void {
    this.tensors.delete(tensor);
    tensor.release();
  }

  private allocate(
    allocator: Pointer,
    type: ElementTypeName,
    shape: readonly number[],
    host: boolean,
  ): NativeTensor {
    const dims = BigInt64Array.from(shape, (d) => BigInt(d));
    const value = outPointer((out) =>
      this.api.CreateTensorAsOrtValue(allocator, dims, shape.length, ElementType[type], out),
    );
    const data = host ? outPointer((out) => this.api.GetTensorMutableData(value, out)) : null;
    const tensor = new NativeTensor(value, type, shape, data);
    this.tensors.add(tensor);
    return tensor;
  }

  /** The session's allocator for an input's memory, or null when that is ordinary host memory. */
  private allocatorForInput(name: string): Pointer | null {
    if (this.provider === "cpu") return null;
    const names = this.inputNames();
    const index = names.indexOf(name);
    if (index < 0) throw new Error(`the model has no input named ${name}`);
    const infos: (Pointer | null)[] = new Array(names.length).fill(null);
    check(this.api.SessionGetMemoryInfoForInputs(this.session, infos, names.length));
    const info = infos[index];
    if (!info) return null;
    const key = `${index}`;
    const known = this.allocators.get(key);
    if (known) return known;
    const allocator = outPointer((out) => this.api.CreateAllocator(this.session, info, out));
    this.allocators.set(key, allocator);
    return allocator;
  }

  /** onnxruntime's description of ordinary host memory (arena allocator, default memory type). */
  private cpuMemory(): Pointer {
    this.cpuMemoryInfo ??= outPointer((out) => this.api.CreateCpuMemoryInfo(1, 0, out));
    return this.cpuMemoryInfo;
  }

  private readInputNames(): string[] {
    const countOut: [number | bigint | null] = [null];
    check(this.api.SessionGetInputCount(this.session, countOut));
    const count = Number(countOut[0]);
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const pointer = outPointer((out) =>
        this.api.SessionGetInputName(this.session, i, this.hostAllocator, out),
      );
      names.push(koffi.decode(pointer, "char", -1) as string);
      check(this.api.AllocatorFree(this.hostAllocator, pointer));
    }
    this.inputNamesRead = names;
    return names;
  }
}
