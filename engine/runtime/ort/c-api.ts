/**
 * onnxruntime's C API, called through koffi on the shared library that onnxruntime-node ships.
 *
 * Why not onnxruntime-node's JavaScript API for inference: its binding copies every output into a new
 * JavaScript buffer after each run and has no IO binding for CPU tensors, so a KV cache passed as both
 * past and present would be copied out on every decoded token (66 MB at a full 2,048-position window on
 * the 270M shape). Its newer releases avoid the copy under plain Node by wrapping native memory in
 * external ArrayBuffers, which Electron's V8 memory cage forbids. The C API has IO binding: the KV
 * cache stays in memory onnxruntime owns (host or GPU), bound as both past and present, and the only
 * bytes that cross into JavaScript per step are the logits, copied into a buffer JavaScript owns.
 * koffi is an N-API module with prebuilt binaries for every platform Electron runs on, so nothing is
 * compiled and nothing is rebuilt for Electron.
 *
 * The function table (`OrtApi`) is an append-only ABI: the indices below are the positions of the
 * functions in onnxruntime_c_api.h's `struct OrtApi` and hold for every onnxruntime that serves
 * `ORT_API_VERSION`. Pointers are koffi's BigInt addresses; every handle is an opaque `void *`.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import koffi from "koffi";

/** The API version this table was written against (onnxruntime 1.23; the package ships 1.30). */
const ORT_API_VERSION = 23;

/** A handle or data pointer from onnxruntime (koffi represents pointers as BigInt). */
export type Pointer = bigint;
/** A `T **` out-parameter: koffi writes the pointer into element 0. */
export type OutPointer = [Pointer | null];

/** The C API functions Elmwood uses, by their index in `struct OrtApi` and their C prototype. */
const FUNCTIONS = {
  CreateStatus: [0, "void *CreateStatus(int code, const char *message)"],
  GetErrorCode: [1, "int GetErrorCode(void *status)"],
  GetErrorMessage: [2, "const char *GetErrorMessage(void *status)"],
  CreateEnv: [3, "void *CreateEnv(int level, const char *logid, _Out_ void **env)"],
  DisableTelemetryEvents: [6, "void *DisableTelemetryEvents(void *env)"],
  CreateSession: [
    7,
    "void *CreateSession(void *env, const OrtChar *path, void *options, _Out_ void **session)",
  ],
  CreateSessionFromArray: [
    8,
    "void *CreateSessionFromArray(void *env, const void *data, size_t bytes, void *options, _Out_ void **session)",
  ],
  CreateSessionOptions: [10, "void *CreateSessionOptions(_Out_ void **options)"],
  SetSessionExecutionMode: [13, "void *SetSessionExecutionMode(void *options, int mode)"],
  EnableProfiling: [14, "void *EnableProfiling(void *options, const OrtChar *prefix)"],
  DisableMemPattern: [17, "void *DisableMemPattern(void *options)"],
  SetSessionLogSeverityLevel: [22, "void *SetSessionLogSeverityLevel(void *options, int level)"],
  SetSessionGraphOptimizationLevel: [23, "void *SetSessionGraphOptimizationLevel(void *options, int level)"],
  SetIntraOpNumThreads: [24, "void *SetIntraOpNumThreads(void *options, int threads)"],
  SetInterOpNumThreads: [25, "void *SetInterOpNumThreads(void *options, int threads)"],
  SessionGetInputCount: [30, "void *SessionGetInputCount(void *session, _Out_ size_t *count)"],
  SessionGetInputName: [
    36,
    "void *SessionGetInputName(void *session, size_t index, void *allocator, _Out_ void **name)",
  ],
  CreateRunOptions: [39, "void *CreateRunOptions(_Out_ void **options)"],
  CreateTensorAsOrtValue: [
    48,
    "void *CreateTensorAsOrtValue(void *allocator, const int64_t *shape, size_t rank, int type, _Out_ void **value)",
  ],
  CreateTensorWithDataAsOrtValue: [
    49,
    "void *CreateTensorWithDataAsOrtValue(void *info, void *data, size_t bytes, const int64_t *shape, size_t rank, int type, _Out_ void **value)",
  ],
  GetTensorMutableData: [51, "void *GetTensorMutableData(void *value, _Out_ void **data)"],
  CreateMemoryInfo: [
    68,
    "void *CreateMemoryInfo(const char *name, int allocatorType, int device, int memType, _Out_ void **info)",
  ],
  CreateCpuMemoryInfo: [69, "void *CreateCpuMemoryInfo(int allocatorType, int memType, _Out_ void **info)"],
  AllocatorFree: [76, "void *AllocatorFree(void *allocator, void *pointer)"],
  GetAllocatorWithDefaultOptions: [78, "void *GetAllocatorWithDefaultOptions(_Out_ void **allocator)"],
  ReleaseStatus: [93, "void ReleaseStatus(void *status)"],
  ReleaseMemoryInfo: [94, "void ReleaseMemoryInfo(void *info)"],
  ReleaseSession: [95, "void ReleaseSession(void *session)"],
  ReleaseValue: [96, "void ReleaseValue(void *value)"],
  ReleaseRunOptions: [97, "void ReleaseRunOptions(void *options)"],
  ReleaseSessionOptions: [100, "void ReleaseSessionOptions(void *options)"],
  SessionEndProfiling: [110, "void *SessionEndProfiling(void *session, void *allocator, _Out_ void **file)"],
  AddSessionConfigEntry: [
    130,
    "void *AddSessionConfigEntry(void *options, const char *key, const char *value)",
  ],
  CreateAllocator: [131, "void *CreateAllocator(void *session, void *info, _Out_ void **allocator)"],
  ReleaseAllocator: [132, "void ReleaseAllocator(void *allocator)"],
  RunWithBinding: [133, "void *RunWithBinding(void *session, void *runOptions, void *binding)"],
  CreateIoBinding: [134, "void *CreateIoBinding(void *session, _Out_ void **binding)"],
  ReleaseIoBinding: [135, "void ReleaseIoBinding(void *binding)"],
  BindInput: [136, "void *BindInput(void *binding, const char *name, void *value)"],
  BindOutput: [137, "void *BindOutput(void *binding, const char *name, void *value)"],
  SynchronizeBoundOutputs: [203, "void *SynchronizeBoundOutputs(void *binding)"],
  SessionOptionsAppendExecutionProvider_CUDA_V2: [
    204,
    "void *SessionOptionsAppendExecutionProvider_CUDA_V2(void *options, void *cudaOptions)",
  ],
  CreateCUDAProviderOptions: [205, "void *CreateCUDAProviderOptions(_Out_ void **cudaOptions)"],
  ReleaseCUDAProviderOptions: [208, "void ReleaseCUDAProviderOptions(void *cudaOptions)"],
  SessionOptionsAppendExecutionProvider: [
    216,
    "void *SessionOptionsAppendExecutionProvider(void *options, const char *name, const char **keys, const char **values, size_t count)",
  ],
  SessionGetMemoryInfoForInputs: [
    380,
    "void *SessionGetMemoryInfoForInputs(void *session, _Out_ void **infos, size_t count)",
  ],
} as const;

type FunctionName = keyof typeof FUNCTIONS;
// biome-ignore lint/suspicious/noExplicitAny: koffi functions are variadic by nature; wrappers type them.
export type OrtApi = Record<FunctionName, (...args: any[]) => any>;

export interface OrtLibrary {
  api: OrtApi;
  version: string;
  /** Where the shared library was loaded from. */
  path: string;
  /** Exported entry points outside the table (DirectML, CoreML), looked up on demand. */
  exported(prototype: string): ((...args: unknown[]) => Pointer | null) | undefined;
  /** Copies `bytes` from native memory into a JavaScript typed array (which stays JavaScript's). */
  copyOut(target: ArrayBufferView, source: Pointer, bytes: number): void;
  /** Sets `bytes` of native memory to zero. */
  zero(target: Pointer, bytes: number): void;
  /** memmove within native memory (the ranges may overlap). */
  move(target: Pointer, source: Pointer, bytes: number): void;
}

/** The file names onnxruntime-node ships its core library under, per platform. */
function libraryFileName(platform: NodeJS.Platform): string {
  if (platform === "win32") return "onnxruntime.dll";
  if (platform === "darwin") return "libonnxruntime.1.dylib";
  return "libonnxruntime.so.1";
}

/**
 * The folder of onnxruntime-node's binaries for this platform. In a packaged app the package sits in
 * app.asar, which dlopen cannot read: electron-builder unpacks those files beside it.
 */
export function onnxruntimeBinaryDir(platform = process.platform, arch = process.arch): string {
  const packageJson = createRequire(import.meta.url).resolve("onnxruntime-node/package.json");
  const dir = join(dirname(packageJson), "bin", "napi-v6", platform, arch);
  return dir.replace(/app\.asar([\\/])/, "app.asar.unpacked$1");
}

function cLibrary(platform: NodeJS.Platform): string {
  if (platform === "win32") return "msvcrt.dll";
  if (platform === "darwin") return "/usr/lib/libSystem.B.dylib";
  return "libc.so.6";
}

let loaded: OrtLibrary | undefined;

/** Loads onnxruntime's C API once per thread (koffi functions belong to the thread that made them). */
export function ortLibrary(): OrtLibrary {
  if (loaded) return loaded;
  const dir = onnxruntimeBinaryDir();
  const path = join(dir, libraryFileName(process.platform));
  if (!existsSync(path)) {
    throw new Error(`onnxruntime's library is missing at ${path}; reinstall the app (or run npm ci).`);
  }
  // Windows resolves a DLL's dependencies from the application's folder and System32, where an older
  // DirectML.dll can sit; onnxruntime needs the one shipped beside it, so that one is loaded first.
  const directMl = join(dir, "DirectML.dll");
  if (process.platform === "win32" && existsSync(directMl)) koffi.load(directMl);
  const lib = koffi.load(path);
  // Paths are wchar_t on Windows (UTF-16) and char elsewhere (UTF-8).
  koffi.alias("OrtChar", process.platform === "win32" ? "char16_t" : "char");

  const getApiBase = lib.func("void *OrtGetApiBase()");
  const [getApiAddress, getVersionAddress] = koffi.decode(getApiBase(), "void *", 2) as Pointer[];
  const getApi = koffi.decode(getApiAddress, koffi.proto("void *OrtGetApi(uint32_t version)"));
  const getVersion = koffi.decode(getVersionAddress, koffi.proto("const char *OrtGetVersionString()"));
  const table: Pointer | null = getApi(ORT_API_VERSION);
  if (!table) throw new Error(`onnxruntime ${getVersion()} does not serve C API version ${ORT_API_VERSION}.`);
  const highest = Math.max(...Object.values(FUNCTIONS).map(([index]) => index));
  const addresses = koffi.decode(table, "void *", highest + 1) as Pointer[];

  const api = {} as OrtApi;
  for (const [name, [index, prototype]] of Object.entries(FUNCTIONS)) {
    // Prototype names must be unique per koffi instance; the table's function names are.
    api[name as FunctionName] = koffi.decode(addresses[index], koffi.proto(prototype));
  }
  const libc = koffi.load(cLibrary(process.platform));
  const memcpy = libc.func("void *memcpy(_Out_ void *target, const void *source, size_t bytes)");
  const memset = libc.func("void *memset(void *target, int value, size_t bytes)");
  const memmove = libc.func("void *memmove(void *target, const void *source, size_t bytes)");

  loaded = {
    api,
    version: getVersion(),
    path,
    exported(prototype) {
      try {
        return lib.func(prototype);
      } catch {
        return undefined; // not exported by this platform's build
      }
    },
    copyOut(target, source, bytes) {
      if (bytes > target.byteLength) throw new RangeError("copyOut target is too small");
      memcpy(target, source, bytes);
    },
    zero(target, bytes) {
      memset(target, 0, bytes);
    },
    move(target, source, bytes) {
      memmove(target, source, bytes);
    },
  };
  return loaded;
}

/** A failure reported by onnxruntime, with its error code (ORT_FAIL, ORT_INVALID_ARGUMENT, ...). */
export class OrtError extends Error {
  constructor(
    message: string,
    readonly ortCode: number,
  ) {
    super(message);
    this.name = "OrtError";
  }
}

/** Throws the status's message when a C API call failed (a null status means success). */
export function check(status: Pointer | null): void {
  if (!status) return;
  const { api } = ortLibrary();
  const message: string = api.GetErrorMessage(status);
  const code: number = api.GetErrorCode(status);
  api.ReleaseStatus(status);
  throw new OrtError(message, code);
}

/** Calls a C API function whose last parameter is a `T **` out-parameter and returns that pointer. */
export function outPointer(call: (out: OutPointer) => Pointer | null): Pointer {
  const out: OutPointer = [null];
  check(call(out));
  if (out[0] === null) throw new OrtError("onnxruntime returned no object", 1);
  return out[0];
}
