/** Messages between a ModelHost and its worker thread. */
import type { ErrorCode } from "../errors.ts";
import type { ModelManifest } from "../openelm/manifest.ts";
import type { GenerateRequest, GenerateResult } from "./generator.ts";
import type { ActiveProvider, LoadOptions, RunStats } from "./model-session.ts";

export type WorkerGenerateRequest = Omit<GenerateRequest, "signal" | "onToken">;

export type WorkerRequest =
  | { type: "load"; id: number; dir: string; options: LoadOptions }
  /** `timing` asks for send times on tokens and run statistics at the end (the benchmark's use). */
  | { type: "generate"; id: number; request: WorkerGenerateRequest; timing?: boolean }
  | { type: "abort"; id: number; target: number }
  | { type: "logits"; id: number; tokens: number[] }
  /** Runs `tokens` into the cache (what a prompt about to be sent starts with); abortable. */
  | { type: "prefill"; id: number; tokens: number[] }
  | { type: "profile"; id: number }
  | { type: "close"; id: number };

export interface LoadedInfo {
  provider: ActiveProvider;
  loadMs: number;
  manifest: ModelManifest;
}

export type WorkerReply =
  | { type: "loaded"; id: number; info: LoadedInfo }
  /** `sentAt`: performance.timeOrigin + performance.now() in the worker, when timing was asked for. */
  | { type: "token"; id: number; token: { id: number; text: string }; sentAt?: number }
  | { type: "done"; id: number; result: GenerateResult; runStats?: RunStats }
  | { type: "profiled"; id: number; file: string }
  | { type: "logits"; id: number; logits: Float32Array }
  /** `computed`: how many of the tokens were not already in the cache. */
  | { type: "prefilled"; id: number; computed: number }
  | { type: "closed"; id: number }
  | { type: "error"; id: number; error: { code: ErrorCode; message: string; hint?: string } };
