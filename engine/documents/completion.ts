/**
 * How the language model reaches the documents code: the engine service implements this over a
 * loaded model, tests implement it with a deterministic fake. Nothing here knows about ONNX.
 */
import type { ChatMessage } from "../text/chat-template.ts";

export type { ChatMessage };

export interface Completion {
  contextLength: number; // 2048 for OpenELM
  countTokens(messages: ChatMessage[]): number; // tokens of the rendered prompt
  complete(
    messages: ChatMessage[],
    options: { maxNewTokens: number; signal?: AbortSignal; onText?: (delta: string) => void },
  ): Promise<string>;
}
