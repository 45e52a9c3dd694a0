/**
 * How full the model's window is, and what the person should hear before anything would not fit. The
 * engine never drops messages (it refuses with CONTEXT_OVERFLOW), so the meter warns first.
 *
 * Exact where the engine measured: each saved reply carries its prompt and completion token counts,
 * so the history up to the last reply is known to the token and each earlier message's share is the
 * difference between consecutive prompts. Text the engine has not measured yet (the draft, a message
 * after the last reply) is estimated from its length.
 *
 * A remote model counts with its own tokenizer: the counts its engine reported are used the same way,
 * and the meter says the total is an estimate, since the rest is guessed from the text's length and
 * its engine may not report counts at all.
 */
import type { Message } from "../../engine/api/contract.ts";

/** Llama-2's SentencePiece averages about four characters a token on English; stay on the safe side. */
const CHARS_PER_TOKEN = 3.5;
/** Role markers and separators the chat template adds around each message. */
const TEMPLATE_TOKENS = 4;

export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  return Math.ceil(text.length / CHARS_PER_TOKEN) + TEMPLATE_TOKENS;
}

export type MeterLevel = "ok" | "near" | "full";

export interface ContextEstimate {
  /** Tokens the next prompt would take: the history plus the draft. */
  used: number;
  limit: number;
  /** Room kept for the reply (the conversation's maximum reply length). */
  reserve: number;
  /** How many of the oldest messages would have to go for the next prompt and its reply to fit. */
  dropOldest: number;
  /** False when even dropping every earlier message would not make room. */
  fits: boolean;
  level: MeterLevel;
  /** The counts are estimates (a remote model, whose tokenizer is its engine's). */
  estimated: boolean;
}

/** Each message's share of the window, in the order given. */
export function messageTokens(messages: readonly Message[], systemPrompt: string): number[] {
  const sizes = messages.map((m) => estimateTokens(m.content));
  let accounted = estimateTokens(systemPrompt);
  let since = 0; // first message not yet covered by a measured prompt
  messages.forEach((message, i) => {
    const stats = message.role === "assistant" ? message.stats : null;
    if (!stats) return;
    const unmeasured = stats.promptTokens - accounted;
    const guessed = sizes.slice(since, i).reduce((a, b) => a + b, 0);
    // Share what the prompt measured among the messages it added, in proportion to their length.
    for (let j = since; j < i; j++) {
      sizes[j] = guessed > 0 ? Math.max(1, Math.round((sizes[j] * unmeasured) / guessed)) : sizes[j];
    }
    sizes[i] = stats.completionTokens;
    accounted = stats.promptTokens + stats.completionTokens;
    since = i + 1;
  });
  return sizes;
}

export function estimateContext(
  messages: readonly Message[],
  options: { draft: string; systemPrompt: string; limit: number; reserve: number; estimated?: boolean },
): ContextEstimate {
  const { limit, reserve } = options;
  const sizes = messageTokens(messages, options.systemPrompt);
  const system = estimateTokens(options.systemPrompt);
  const draft = estimateTokens(options.draft);
  const used = system + sizes.reduce((a, b) => a + b, 0) + draft;
  const budget = limit - reserve;

  // The newest message is never dropped: the draft if there is one, else the last message.
  const droppable = draft > 0 ? sizes.length : Math.max(0, sizes.length - 1);
  let dropOldest = 0;
  let remaining = used;
  while (remaining > budget && dropOldest < droppable) {
    remaining -= sizes[dropOldest];
    dropOldest++;
  }
  const fits = remaining <= budget;
  const level: MeterLevel = dropOldest > 0 || !fits ? "full" : used + reserve > limit * 0.85 ? "near" : "ok";
  return { used, limit, reserve, dropOldest, fits, level, estimated: options.estimated === true };
}

/** The plain sentence under the meter; null while there is nothing to say. */
export function describeContext(estimate: ContextEstimate): string | null {
  if (!estimate.fits) {
    return `This message and a ${estimate.reserve}-token reply do not fit the ${estimate.limit}-token window; shorten it or lower the maximum reply length.`;
  }
  if (estimate.dropOldest === 1) {
    return "The oldest message will no longer fit; summarize it or start a new chat.";
  }
  if (estimate.dropOldest > 1) {
    return `The oldest ${estimate.dropOldest} messages will no longer fit; summarize them or start a new chat.`;
  }
  if (estimate.level === "near") {
    const left = Math.max(0, estimate.limit - estimate.reserve - estimate.used);
    return `Nearly full: about ${left} tokens left before older messages stop fitting.`;
  }
  return null;
}
