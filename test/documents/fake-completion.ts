/**
 * A deterministic stand-in for the model: counts about one token per four characters (plus a few per
 * message, like a chat template), records every call, and answers with text as long as it is allowed,
 * naming the sentence ids (S0001...) it was shown so tests can trace what went where.
 */
import type { ChatMessage, Completion } from "../../engine/documents/completion.ts";

export interface FakeCall {
  messages: ChatMessage[];
  maxNewTokens: number;
  promptTokens: number;
}

export function fakeCompletion(contextLength = 2048): Completion & { calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  const countTokens = (messages: ChatMessage[]) =>
    messages.reduce((n, m) => n + 4 + Math.ceil(m.content.length / 4), 1);
  return {
    contextLength,
    calls,
    countTokens,
    async complete(messages, { maxNewTokens, signal, onText }) {
      if (signal?.aborted) throw new Error("aborted before the call");
      calls.push({ messages, maxNewTokens, promptTokens: countTokens(messages) });
      const ids = [
        ...new Set(
          messages
            .map((m) => m.content)
            .join(" ")
            .match(/S\d{4}/g) ?? [],
        ),
      ];
      const head = ids.length ? `covers ${ids[0]}-${ids[ids.length - 1]}. ` : "";
      const room = Math.max(0, (maxNewTokens - 2) * 4 - head.length);
      const text = head + "summary words ".repeat(Math.floor(room / 14));
      for (let at = 0; at < text.length; at += 40) {
        await Promise.resolve();
        if (signal?.aborted) throw new Error("aborted during the call");
        onText?.(text.slice(at, at + 40));
      }
      return text;
    },
  };
}
