/**
 * Token counts for a remote model, which has a tokenizer of its own that Elmwood does not have:
 * estimated from the text's length, on the safe side (modern tokenizers average about four
 * characters a token on English; code and other languages take more tokens). Where the engine
 * reported what a reply's prompt took, the conversation up to there is known exactly and only the
 * rest is estimated.
 */
import type { ChatMessage } from "../text/chat-template.ts";

const CHARS_PER_TOKEN = 3.5;
/** The role markers and separators a chat template puts around each message. */
const PER_MESSAGE = 4;
/** What opens the reply (the assistant's role marker). */
const REPLY_OPENER = 3;

export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

export function estimateMessageTokens(messages: readonly ChatMessage[]): number {
  let total = REPLY_OPENER;
  for (const message of messages) total += PER_MESSAGE + estimateTextTokens(message.content);
  return total;
}

/**
 * The prompt's size when some replies carry the engine's own count of everything up to and
 * including them (`measured`): the last such count plus an estimate of what came after it.
 */
export function calibratedTokens(messages: readonly (ChatMessage & { measured?: number | null })[]): number {
  let last = -1;
  messages.forEach((m, i) => {
    if (typeof m.measured === "number") last = i;
  });
  if (last < 0) return estimateMessageTokens(messages);
  const known = messages[last].measured as number;
  return known + estimateMessageTokens(messages.slice(last + 1));
}
