/** Messages between the embedding worker and the thread that hosts it. */
import type { ErrorCode } from "../../errors.ts";
import type { OnnxEmbedderOptions } from "./embedder.ts";

export type EmbedRequest =
  | { type: "load"; dir: string; options: OnnxEmbedderOptions }
  | { type: "embed"; id: number; texts: string[] };

export type EmbedReply =
  | { type: "loaded"; dims: number; maxTokens: number }
  | { type: "vectors"; id: number; data: Float32Array }
  | { type: "error"; id?: number; error: { code: ErrorCode; message: string; hint?: string } };
