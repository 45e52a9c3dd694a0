/**
 * The generation loop: prefill (reusing the cached prefix), then decode one token at a time until
 * end of sequence, a stop string, the token limit, the context's end, or an abort, which is noticed
 * before the next step, so a stop takes effect within one step.
 */
import { ElmwoodError } from "../errors.ts";
import { assertFits, type ContextUsage, measureContext } from "../text/context-budget.ts";
import { IncrementalDecoder } from "../text/incremental-decoder.ts";
import type { Tokenizer } from "../text/tokenizer.ts";
import type { ModelSession } from "./model-session.ts";
import { Sampler, type SamplingOptions } from "./sampler.ts";
import { StopStringFilter } from "./stop-strings.ts";

export type FinishReason = "eos" | "stop" | "length" | "context" | "cancelled";

export interface GenerateRequest {
  /** The whole prompt as token ids, BOS included where the template wants it. */
  prompt: readonly number[];
  maxNewTokens: number;
  sampling: SamplingOptions;
  stopStrings?: readonly string[];
  signal?: AbortSignal;
  /**
   * Tokens the reply continues (a base model's prompt): the first generated piece then keeps its
   * leading space. Chat replies start a text of their own and leave this out.
   */
  continues?: readonly number[];
  /** Called for every generated token with the text it made visible (possibly ""). */
  onToken?: (token: { id: number; text: string }) => void;
}

export interface GenerateTimings {
  promptTokens: number;
  /** Prompt tokens whose keys and values came from the prefix cache. */
  reusedTokens: number;
  prefillMs: number;
  /** From the call to the first token being chosen. */
  firstTokenMs: number;
  decodeMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

export interface GenerateResult {
  tokens: number[];
  text: string;
  finishReason: FinishReason;
  timings: GenerateTimings;
  context: ContextUsage;
}

export async function generate(
  session: ModelSession,
  tokenizer: Tokenizer,
  request: GenerateRequest,
): Promise<GenerateResult> {
  const { prompt, maxNewTokens, signal } = request;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `max new tokens must be a whole number of at least 1 (got ${maxNewTokens}).`,
      "Give a positive limit.",
    );
  }
  // Never truncate: a request whose prompt and reply allowance exceed the window is refused up front.
  const context = measureContext(prompt.length, maxNewTokens, session.contextLength);
  assertFits(context);
  const sampler = new Sampler(request.sampling);
  const decoder = new IncrementalDecoder(tokenizer, { context: request.continues });
  const stops = new StopStringFilter(request.stopStrings ?? []);
  const eos = session.config.eosTokenId;
  const started = performance.now();
  const history = [...prompt];
  const tokens: number[] = [];
  let text = "";
  let finishReason: FinishReason = "length";

  let reused = 0;
  let firstTokenMs = 0;
  if (signal?.aborted) return finish("cancelled", 0, 0);
  const first = await session.logitsFor(prompt, signal).catch((error) => {
    if (signal?.aborted) return undefined;
    throw error;
  });
  if (!first) return finish("cancelled", 0, 0);
  reused = first.reused;
  const prefillMs = performance.now() - started;
  let logits = first.logits;
  const decodeStart = performance.now();

  while (true) {
    const id = sampler.sample(logits, history);
    if (tokens.length === 0) firstTokenMs = performance.now() - started;
    if (id === eos) {
      finishReason = "eos";
      break;
    }
    tokens.push(id);
    history.push(id);
    const visible = stops.push(decoder.push(id));
    text += visible;
    request.onToken?.({ id, text: visible });
    if (stops.hit) {
      finishReason = "stop";
      break;
    }
    if (tokens.length >= maxNewTokens) break;
    if (history.length >= session.contextLength) {
      finishReason = "context";
      break;
    }
    if (signal?.aborted) {
      finishReason = "cancelled";
      break;
    }
    logits = (await session.logitsFor(history)).logits;
  }
  return finish(finishReason, prefillMs, performance.now() - decodeStart);

  function finish(reason: FinishReason, prefill: number, decode: number): GenerateResult {
    if (reason !== "stop") {
      const tail = stops.push(decoder.flush()) + stops.flush();
      text += tail;
      if (tail) request.onToken?.({ id: -1, text: tail });
    }
    const computed = prompt.length - reused;
    // Decode speed counts the steps that ran the model: every token after the first.
    const decodeSteps = Math.max(0, tokens.length - (reason === "eos" ? 0 : 1));
    return {
      tokens,
      text,
      finishReason: reason,
      context,
      timings: {
        promptTokens: prompt.length,
        reusedTokens: reused,
        prefillMs: prefill,
        firstTokenMs,
        decodeMs: decode,
        prefillTokensPerSecond: prefill > 0 ? (computed / prefill) * 1000 : 0,
        decodeTokensPerSecond: decode > 0 ? (decodeSteps / decode) * 1000 : 0,
      },
    };
  }
}
