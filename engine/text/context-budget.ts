/**
 * The model's window (2048 tokens for OpenELM) must hold the prompt and the whole reply. Nothing here
 * truncates: it measures, refuses with a clear error, or reports what would have to go.
 */
import { ElmwoodError } from "../errors.ts";
import type { ChatMessage, ChatTemplate } from "./chat-template.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface ContextUsage {
  promptTokens: number;
  maxNewTokens: number;
  contextLength: number;
  fits: boolean;
  /** contextLength - promptTokens - maxNewTokens: tokens to spare, or (negative) how many too many. */
  remaining: number;
}

export function measureContext(
  promptTokens: number,
  maxNewTokens: number,
  contextLength: number,
): ContextUsage {
  checkCount("The prompt length", promptTokens, 0);
  checkCount("The reply length", maxNewTokens, 0);
  checkCount("The context length", contextLength, 1);
  const remaining = contextLength - promptTokens - maxNewTokens;
  return { promptTokens, maxNewTokens, contextLength, fits: remaining >= 0, remaining };
}

/** Throws CONTEXT_OVERFLOW when the prompt and the reply's allowance do not fit the window together. */
export function assertFits(usage: ContextUsage): void {
  if (usage.fits) return;
  throw new ElmwoodError(
    "CONTEXT_OVERFLOW",
    `The prompt is ${usage.promptTokens} tokens and the reply may use ${usage.maxNewTokens} more, but the model's window is ${usage.contextLength} tokens.`,
    "Shorten the message, start a new chat, or lower the maximum reply length.",
  );
}

export interface ConversationFit {
  /** How many of the oldest non-system messages would have to go for the rest to fit. */
  dropOldest: number;
  /** The prompt's length in tokens once those are gone. */
  promptTokens: number;
  /** False when even keeping only the system messages and the newest message does not fit. */
  fits: boolean;
}

/**
 * Which oldest messages would no longer fit, so the UI can warn ("The oldest 3 messages will no longer
 * fit"); it drops nothing. System messages and the newest message are never counted as droppable.
 * `reserve` is the room kept for the reply (its maximum length).
 */
export function fitConversation(
  messages: readonly ChatMessage[],
  template: ChatTemplate,
  tokenizer: Tokenizer,
  contextLength: number,
  reserve: number,
): ConversationFit {
  return fitMessages(messages, (kept) => template.render(kept, tokenizer).length, contextLength, reserve);
}

/**
 * fitConversation for any way of counting a prompt's tokens: a template and tokenizer of ours, or a
 * remote engine's estimate. `count` must not grow when a message is left out.
 */
export function fitMessages(
  messages: readonly ChatMessage[],
  count: (messages: readonly ChatMessage[]) => number,
  contextLength: number,
  reserve: number,
): ConversationFit {
  checkCount("The context length", contextLength, 1);
  checkCount("The reply reserve", reserve, 0);
  const budget = contextLength - reserve;
  const droppable = messages.flatMap((m, i) => (m.role !== "system" && i < messages.length - 1 ? [i] : []));
  const lengthAfterDropping = (dropped: number): number => {
    const gone = new Set(droppable.slice(0, dropped));
    return count(messages.filter((_, i) => !gone.has(i)));
  };

  const whole = lengthAfterDropping(0);
  if (whole <= budget) return { dropOldest: 0, promptTokens: whole, fits: true };
  const least = lengthAfterDropping(droppable.length);
  if (least > budget) return { dropOldest: droppable.length, promptTokens: least, fits: false };
  // Each dropped message only removes tokens, so the length falls as the count rises: search for the
  // smallest count that fits rather than render once per message of a long history.
  let tooFew = 0;
  let enough = droppable.length;
  let enoughLength = least;
  while (enough - tooFew > 1) {
    const middle = (tooFew + enough) >> 1;
    const length = lengthAfterDropping(middle);
    if (length <= budget) {
      enough = middle;
      enoughLength = length;
    } else {
      tooFew = middle;
    }
  }
  return { dropOldest: enough, promptTokens: enoughLength, fits: true };
}

function checkCount(what: string, value: number, least: number): void {
  if (!Number.isInteger(value) || value < least) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `${what} must be a whole number of at least ${least}, not ${String(value)}.`,
      "Check the model's settings and the requested maximum reply length.",
    );
  }
}
