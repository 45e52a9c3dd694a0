/**
 * The one onnxruntime environment of this process, created with telemetry off.
 *
 * onnxruntime's official builds report usage telemetry to Microsoft: since 1.29 through 1DS on Linux
 * and macOS (a device id and an offline event queue under ~/.cache/Microsoft/DeveloperTools, uploaded
 * to mobile.events.data.microsoft.com when a network is there), and through ETW on Windows. Elmwood
 * never reports anything to anyone, so:
 *  - on every platform `ORT_DISABLE_TELEMETRY=1` is put into the process environment before the
 *    environment is created (onnxruntime's documented full opt-out outside Windows: no uploader, no
 *    events, no device id, no cache). It is set with the C library's setenv, because a worker
 *    thread's `process.env` is a copy that native code never sees;
 *  - on Windows, `DisableTelemetryEvents` is called on the environment right after it is created.
 *
 * onnxruntime keeps one environment per process (its `OrtEnv` is a singleton, which onnxruntime-node's
 * binding shares), so whichever comes first, the switches above are in place before any session runs.
 */
import { isMainThread } from "node:worker_threads";
import koffi from "koffi";
import { check, type OrtLibrary, ortLibrary, outPointer, type Pointer } from "./c-api.ts";

/** The environment variable that turns onnxruntime's telemetry off before it initializes. */
export const ORT_TELEMETRY_OFF = { ORT_DISABLE_TELEMETRY: "1" } as const;

/** onnxruntime's log levels: 0 verbose ... 3 error, 4 fatal. */
const LOG_ERROR = 3;

let environment: Pointer | undefined;

/**
 * Puts ORT_DISABLE_TELEMETRY=1 into this process's real environment. On the main thread Node writes
 * `process.env` through to it; a worker thread's `process.env` is a copy native code never reads, so
 * there the C library's setenv is called (only when the variable is not already there: every entry
 * point sets it at startup, so workers normally find it).
 */
export function turnOffTelemetryVariable(): void {
  for (const [name, value] of Object.entries(ORT_TELEMETRY_OFF)) {
    process.env[name] = value;
    if (isMainThread || process.platform === "win32") continue; // Windows: DisableTelemetryEvents
    const libc = koffi.load(process.platform === "darwin" ? "/usr/lib/libSystem.B.dylib" : "libc.so.6");
    const getenv = libc.func("const char *getenv(const char *name)");
    if (getenv(name) !== value)
      libc.func("int setenv(const char *name, const char *value, int overwrite)")(name, value, 1);
  }
}

/** The process's onnxruntime environment, created on first use with telemetry off. */
export function ortEnvironment(library: OrtLibrary = ortLibrary()): Pointer {
  if (environment) return environment;
  turnOffTelemetryVariable();
  const env = outPointer((out) => library.api.CreateEnv(LOG_ERROR, "elmwood", out));
  // Windows builds emit ETW events instead of reading the variable; switch those off at once.
  check(library.api.DisableTelemetryEvents(env));
  // Never released: onnxruntime tears its environment down with the process, and a later CreateEnv
  // after a release would start a fresh one without the switch.
  environment = env;
  return env;
}
