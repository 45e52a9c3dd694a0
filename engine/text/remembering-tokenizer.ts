/**
 * A tokenizer that remembers what it encoded lately. A chat prompt is encoded message by message
 * (each message is its own SentencePiece segment, chat-template.ts), and the same conversation is
 * rendered again and again: renderPrompt renders every prefix that ends at a reply, the fit checks and
 * grounding render it once per candidate, and the composer's read-ahead renders it twice a second
 * while someone types. Nearly every segment was encoded moments before, so remembering them turns a
 * long conversation's rendering from quadratic work into linear (a 30-turn chat took 390 ms a render
 * on the main thread before). Bounded by the characters held; the least recently used go first, and a
 * text too long to be a message (a document being chunked) is encoded without being kept.
 */
import type { EncodeOptions, Tokenizer } from "./tokenizer.ts";

/** Longer than any message with its passages: a text past this is a document, not kept. */
const LONGEST_KEPT = 64_000;

export function rememberingTokenizer(inner: Tokenizer, maxChars = 2_000_000): Tokenizer {
  const kept = new Map<string, readonly number[]>();
  let chars = 0;
  return {
    vocabSize: inner.vocabSize,
    bosId: inner.bosId,
    eosId: inner.eosId,
    unkId: inner.unkId,
    decode: (ids) => inner.decode(ids),
    pieceOf: (id) => inner.pieceOf(id),
    encode(text: string, options?: EncodeOptions): number[] {
      if (text.length > LONGEST_KEPT) return inner.encode(text, options);
      const key = `${options?.bos ? 1 : 0}${options?.dummyPrefix === false ? 0 : 1}${text}`;
      const hit = kept.get(key);
      if (hit) {
        // Most recently used goes last, so the oldest is always first to go.
        kept.delete(key);
        kept.set(key, hit);
        return [...hit];
      }
      const ids = inner.encode(text, options);
      kept.set(key, ids);
      chars += key.length;
      for (const [oldest] of kept) {
        if (chars <= maxChars) break;
        kept.delete(oldest);
        chars -= oldest.length;
      }
      return [...ids];
    },
  };
}
