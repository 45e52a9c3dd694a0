/** Messages between a ModelHost and its worker thread. */
import type { ErrorCode } from "../errors.ts";
import type { ModelManifest } from "../openelm/manifest.ts";
import type { GenerateRequest, GenerateResult } from "./generator.ts";
import type { ActiveProvider, LoadOptions } from "./model-session.ts";

export type WorkerGenerateRequest = Omit<GenerateRequest, "signal" | "onToken">;

export type WorkerRequest =
  | { type: "load"; id: number; dir: string; options: LoadOptions }
  | { type: "generate"; id: number; request: WorkerGenerateRequest }
  | { type: "abort"; id: number; target: number }
  | { type: "logits"; id: number; tokens: number[] }
  | { type: "close"; id: number };

export interface LoadedInfo {
  provider: ActiveProvider;
  loadMs: number;
  manifest: ModelManifest;
}

export type WorkerReply =
  | { type: "loaded"; id: number; info: LoadedInfo }
  | { type: "token"; id: number; token: { id: number; text: string } }
  | { type: "done"; id: number; result: GenerateResult }
  | { type: "logits"; id: number; logits: Float32Array }
  | { type: "closed"; id: number }
  | { type: "error"; id: number; error: { code: ErrorCode; message: string; hint?: string } };
