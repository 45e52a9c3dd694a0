import { describe, expect, it } from "vitest";
import { renderPrompt } from "../../engine/chat/prompt.ts";
import { chatTemplateFor } from "../../engine/text/chat-template.ts";
import { rememberingTokenizer } from "../../engine/text/remembering-tokenizer.ts";
import { llamaTokenizer, type Tokenizer } from "../../engine/text/tokenizer.ts";

const llama = llamaTokenizer();

/** The real tokenizer, counting how many texts it was asked to encode. */
function counting(): Tokenizer & { calls: number } {
  const wrapped = {
    calls: 0,
    vocabSize: llama.vocabSize,
    bosId: llama.bosId,
    eosId: llama.eosId,
    unkId: llama.unkId,
    decode: (ids: readonly number[]) => llama.decode(ids),
    pieceOf: (id: number) => llama.pieceOf(id),
    encode(text: string, options?: Parameters<Tokenizer["encode"]>[1]) {
      wrapped.calls++;
      return llama.encode(text, options);
    },
  };
  return wrapped;
}

describe("rememberingTokenizer", () => {
  it("gives the same ids as the tokenizer it wraps, for each set of options, and encodes each text once", () => {
    const inner = counting();
    const tokenizer = rememberingTokenizer(inner);
    const texts = ["Hello there", " Hello there", "<|user|>\nWhat grows by the river?", "\n"];
    for (const text of texts) {
      for (const options of [undefined, { bos: true }, { dummyPrefix: false }]) {
        expect(tokenizer.encode(text, options)).toEqual(llama.encode(text, options));
        expect(tokenizer.encode(text, options)).toEqual(llama.encode(text, options));
      }
    }
    expect(inner.calls).toBe(texts.length * 3);
  });

  it("hands out copies: changing what it returned does not change the next answer", () => {
    const tokenizer = rememberingTokenizer(llama);
    const first = tokenizer.encode("Elms line the canal.");
    first.push(7);
    first[0] = 0;
    expect(tokenizer.encode("Elms line the canal.")).toEqual(llama.encode("Elms line the canal."));
  });

  it("forgets the least recently used texts past its bound, and never keeps a text too long to be a message", () => {
    const inner = counting();
    const tokenizer = rememberingTokenizer(inner, 64);
    tokenizer.encode("a".repeat(20)); // kept
    tokenizer.encode("b".repeat(20)); // kept
    tokenizer.encode("a".repeat(20)); // a hit: "b" is now the oldest
    tokenizer.encode("c".repeat(30)); // over the bound: "b" goes
    expect(inner.calls).toBe(3);
    tokenizer.encode("a".repeat(20));
    expect(inner.calls).toBe(3);
    tokenizer.encode("b".repeat(20));
    expect(inner.calls).toBe(4);
    // A document's length: encoded every time, never kept.
    const inner2 = counting();
    const roomy = rememberingTokenizer(inner2);
    const documentText = "The elm tree grows tall beside the river. ".repeat(2000);
    roomy.encode(documentText);
    roomy.encode(documentText);
    expect(inner2.calls).toBe(2);
  });

  it("renders a long conversation with each message encoded once, to the same ids", () => {
    const template = chatTemplateFor("openelm-270m-instruct");
    const messages = [{ role: "system" as const, content: "Be brief." }];
    const conversation: Parameters<typeof renderPrompt>[0][number][] = [...messages];
    for (let i = 0; i < 12; i++) {
      conversation.push({ role: "user", content: `Question ${i} about the elms?` });
      const reply = `Answer ${i}: they grow tall by the river.`;
      conversation.push({ role: "assistant", content: reply, tokens: llama.encode(reply) });
    }
    conversation.push({ role: "user", content: "And the oaks?" });
    const inner = counting();
    const ids = renderPrompt(conversation, template, rememberingTokenizer(inner));
    expect(ids).toEqual(renderPrompt(conversation, template, llama));
    // Each message's segment, the assistant openers and the empty reply that closes a turn: a few
    // distinct texts a message, not one per message per prefix rendered.
    expect(inner.calls).toBeLessThanOrEqual(conversation.length * 3);
  });
});
