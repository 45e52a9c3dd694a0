/**
 * OpenAI's response objects, built from a finished (or streaming) completion: chat.completion and
 * its chunks, text_completion and its chunks. Only the shapes live here; the routes decide when.
 */
import type { FinishReason, Usage } from "../../api/contract.ts";

export type OpenAiFinish = "stop" | "length";

/** EOS and stop strings end a reply as OpenAI's "stop"; running out of tokens or window is "length". */
export function openAiFinish(reason: FinishReason): OpenAiFinish {
  return reason === "length" || reason === "context" ? "length" : "stop";
}

export function openAiUsage(usage: Usage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.reusedTokens },
  };
}

/** What identifies one response across its chunks. */
export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

/** The two endpoints differ only in these shapes. */
export interface ResponseShape {
  full(who: ResponseIdentity, text: string, finish: OpenAiFinish, usage: Usage): object;
  /** The first chunk of a stream (chat announces the role), or undefined. */
  opening(who: ResponseIdentity): object | undefined;
  delta(who: ResponseIdentity, text: string): object;
  closing(who: ResponseIdentity, finish: OpenAiFinish): object;
  usage(who: ResponseIdentity, usage: Usage): object;
  idPrefix: string;
}

const chunkBase = (who: ResponseIdentity, object: string) => ({
  id: who.id,
  object,
  created: who.created,
  model: who.model,
  system_fingerprint: null,
});

export const chatShape: ResponseShape = {
  idPrefix: "chatcmpl-",
  full: (who, text, finish, usage) => ({
    ...chunkBase(who, "chat.completion"),
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: text, refusal: null },
        logprobs: null,
        finish_reason: finish,
      },
    ],
    usage: openAiUsage(usage),
  }),
  opening: (who) => ({
    ...chunkBase(who, "chat.completion.chunk"),
    choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }],
  }),
  delta: (who, text) => ({
    ...chunkBase(who, "chat.completion.chunk"),
    choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }],
  }),
  closing: (who, finish) => ({
    ...chunkBase(who, "chat.completion.chunk"),
    choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish }],
  }),
  usage: (who, usage) => ({
    ...chunkBase(who, "chat.completion.chunk"),
    choices: [],
    usage: openAiUsage(usage),
  }),
};

export const textShape: ResponseShape = {
  idPrefix: "cmpl-",
  full: (who, text, finish, usage) => ({
    ...chunkBase(who, "text_completion"),
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    usage: openAiUsage(usage),
  }),
  opening: () => undefined,
  delta: (who, text) => ({
    ...chunkBase(who, "text_completion"),
    choices: [{ index: 0, text, logprobs: null, finish_reason: null }],
  }),
  closing: (who, finish) => ({
    ...chunkBase(who, "text_completion"),
    choices: [{ index: 0, text: "", logprobs: null, finish_reason: finish }],
  }),
  usage: (who, usage) => ({ ...chunkBase(who, "text_completion"), choices: [], usage: openAiUsage(usage) }),
};
