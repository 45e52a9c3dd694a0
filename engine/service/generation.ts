/**
 * The one interface every feature writes through (chat, completions, summaries, answers): a prompt
 * in, streamed text out. Two kinds of model implement it. Elmwood's own runtime takes token ids,
 * rendered here with the model's chat template (so the prefix cache sees the same ids turn after
 * turn); a remote OpenAI-compatible engine takes messages or plain text and applies its own template
 * and tokenizer, so its token counts are the engine's report or Elmwood's estimate.
 */
import type { FinishReason, Interruption } from "../api/contract.ts";
import type { SamplingOptions } from "../runtime/sampler.ts";
import type { ChatMessage } from "../text/chat-template.ts";

export type { SamplingOptions };

/** A conversation message; an assistant reply may carry what is known about its tokens. */
export interface PromptMessage extends ChatMessage {
  /** An assistant reply's generated ids, when they were generated under this template. */
  tokens?: readonly number[] | null;
  /**
   * A reply's prompt and completion tokens as the engine that wrote it reported them (a remote
   * engine's usage): the conversation up to here is known to that engine's token.
   */
  measured?: number | null;
}

/** What a model is asked to continue, in the form its kind of engine takes. */
export type Prompt =
  /** Elmwood's own runtime: ids from its tokenizer; `continues` for a text continued as written. */
  | { kind: "tokens"; ids: readonly number[]; continues?: readonly number[] }
  /** A remote engine's chat endpoint: the engine renders its own template. */
  | { kind: "messages"; messages: readonly ChatMessage[] }
  /** A remote engine's completions endpoint: text continued as written. */
  | { kind: "text"; text: string };

export interface GenerationRequest {
  prompt: Prompt;
  maxNewTokens: number;
  sampling: SamplingOptions;
  stopStrings?: readonly string[];
}

export interface GenerationCallbacks {
  signal?: AbortSignal;
  /** Each piece of text as it is made visible; `id` is -1 where there is no id of ours (remote). */
  onToken?: (token: { id: number; text: string }) => void;
  /** The request reached the model (after waiting its turn). */
  onStart?: () => void;
}

export interface GenerationResult {
  text: string;
  /** The generated ids, for the prefix cache of the next turn; empty for a remote engine. */
  tokens: number[];
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens the engine did not compute again (a prefix cache hit). */
  reusedTokens: number;
  /** True when the counts are Elmwood's estimates (a remote engine that reported no usage). */
  estimated: boolean;
  firstTokenMs: number;
  tokensPerSecond: number;
  /** Why it stopped, when it was not the caller's own abort (the model was taken away, a stream broke). */
  interruption?: Interruption;
}

/** A model ready to write. */
export interface Generator {
  generate(request: GenerationRequest, callbacks?: GenerationCallbacks): Promise<GenerationResult>;
  /**
   * Reads a prompt ahead into the model's prefix cache while the model is idle, so a request that
   * starts with it computes only the rest. Best effort: resolves with the tokens computed, or null
   * when skipped (busy, stopped by a request, or an engine without a cache of ours: remote ones).
   */
  prefill?(prompt: Prompt): Promise<number | null>;
}

/** A Generator that can be watched and closed: what TrackedHost shares out. */
export interface GenerationBackend extends Generator {
  readonly running: boolean;
  readonly waiting: number;
  close(): Promise<void>;
}

/** A prompt made ready for one model, with its size. */
export interface PreparedPrompt {
  prompt: Prompt;
  /** Tokens the prompt takes: counted with the model's tokenizer, or estimated for a remote engine. */
  tokens: number;
  estimated: boolean;
  /** Text that ends a reply (the chat template's markers; none for text continued as written). */
  stopStrings: readonly string[];
}

/** Where a remote model's text goes, for "sent to <host>". */
export interface RemoteTarget {
  engine: string;
  host: string;
}

/** A model as the features see it before it writes: its window and how it takes a prompt. */
export interface PromptModel {
  name: string;
  contextLength: number;
  /**
   * Kept with each reply: a reply's token ids are put back in a later prompt only under the same
   * family (a remote engine's replies have none, and are sent as text).
   */
  family: string;
  /** null for Elmwood's own models. */
  remote: RemoteTarget | null;
  /** A conversation ready for the reply (it must not end with an assistant message). */
  prepare(messages: readonly PromptMessage[]): PreparedPrompt;
  /** Plain text continued as written (OpenAI's /v1/completions, `elmwood generate`). */
  prepareText(text: string): PreparedPrompt;
  /** Tokens these messages take as a prompt (for the fit checks and document chunking). */
  count(messages: readonly ChatMessage[]): number;
}

/**
 * What the runtime's ModelHost offers (it satisfies this structurally; engine/runtime is not edited
 * for the service's sake): generation from token ids in a worker thread.
 */
export interface TokenHost {
  readonly running: boolean;
  readonly waiting: number;
  generate(
    request: {
      prompt: readonly number[];
      maxNewTokens: number;
      sampling: SamplingOptions;
      stopStrings?: readonly string[];
      continues?: readonly number[];
    },
    callbacks?: {
      signal?: AbortSignal;
      onToken?: (token: { id: number; text: string }) => void;
      onStart?: () => void;
    },
  ): Promise<{
    tokens: number[];
    text: string;
    finishReason: FinishReason;
    timings: {
      promptTokens: number;
      reusedTokens: number;
      firstTokenMs: number;
      decodeTokensPerSecond: number;
    };
  }>;
  close(): Promise<void>;
  /** Runs tokens into the cache if the model is idle (ModelHost.prefill). */
  prefill?(tokens: number[]): Promise<{ computed: number } | null>;
}
