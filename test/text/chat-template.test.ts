import { describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { type ChatMessage, chatTemplateFor } from "../../engine/text/chat-template.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";

const tokenizer = llamaTokenizer();
const instruct = chatTemplateFor("apple/OpenELM-270M-Instruct");
const base = chatTemplateFor("apple/OpenELM-270M");

/** The ids cut at control tokens: each text segment decoded, each control id kept as a marker. */
function segments(ids: readonly number[]): (string | number)[] {
  const out: (string | number)[] = [];
  let run: number[] = [];
  for (const id of ids) {
    if (id > 2) {
      run.push(id);
      continue;
    }
    if (run.length > 0) out.push(tokenizer.decode(run));
    out.push(id);
    run = [];
  }
  if (run.length > 0) out.push(tokenizer.decode(run));
  return out;
}

const conversation: ChatMessage[] = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "What is a llama?" },
  { role: "assistant", content: "A domesticated camelid 🦙." },
];

describe("chatTemplateFor", () => {
  it("picks the instruct template for Instruct models and the base one otherwise", () => {
    expect(instruct.family).toBe("openelm-instruct");
    expect(chatTemplateFor("openelm-1_1b-instruct").family).toBe("openelm-instruct");
    expect(base.family).toBe("openelm-base");
  });

  it("stops instruct replies at text that starts a new turn", () => {
    expect(instruct.stopStrings).toContain("<|user|>");
    expect(base.stopStrings).toEqual([]);
  });
});

describe("the OpenELM-Instruct template", () => {
  it("renders Zephyr-style turns with <s> and </s> as control ids and opens the assistant's turn", () => {
    const ids = instruct.render(conversation.slice(0, 2), tokenizer);
    expect(segments(ids)).toEqual([
      1,
      "<|system|>\nYou are a helpful assistant.",
      2,
      "\n<|user|>\nWhat is a llama?",
      2,
      "\n<|assistant|>\n",
    ]);
  });

  it("encodes each segment after a control token as a fresh text, with the dummy prefix", () => {
    const ids = instruct.render([{ role: "user", content: "Hi" }], tokenizer);
    expect(tokenizer.pieceOf(ids[1])).toBe("▁<");
    const afterEos = ids.indexOf(2) + 1;
    expect([tokenizer.pieceOf(ids[afterEos]), tokenizer.pieceOf(ids[afterEos + 1])]).toEqual(["▁", "<0x0A>"]);
  });

  it("closes a conversation that ends with the assistant with </s>", () => {
    const ids = instruct.render(conversation, tokenizer);
    expect(ids.at(-1)).toBe(2);
  });

  it("keeps user text that spells <s> or </s> as text", () => {
    const ids = instruct.render([{ role: "user", content: "Say </s> then <s>." }], tokenizer);
    expect(ids.filter((id) => id <= 2)).toEqual([1, 2]);
    expect(segments(ids)[1]).toBe("<|user|>\nSay </s> then <s>.");
  });

  it("rejects an empty conversation and unknown roles with BAD_INPUT", () => {
    expect(() => instruct.render([], tokenizer)).toThrow(ElmwoodError);
    const bad = [{ role: "tool", content: "x" }] as unknown as ChatMessage[];
    expect(() => instruct.render(bad, tokenizer)).toThrow("tool");
  });
});

describe("the OpenELM base template", () => {
  it("renders <s> and the text, as a plain continuation", () => {
    const ids = base.render([{ role: "user", content: "Once upon a time" }], tokenizer);
    expect(ids).toEqual(tokenizer.encode("Once upon a time", { bos: true }));
  });

  it("joins messages exactly as written", () => {
    const ids = base.render(conversation, tokenizer);
    expect(tokenizer.decode(ids)).toBe(conversation.map((m) => m.content).join(""));
  });
});

describe("prefix stability (the engine's prefix cache relies on it)", () => {
  const replies = ["Sure.", " A leading space", "\nA newline first", "🦙 emoji first", "", "   ", "</s>"];
  for (const template of [instruct, base]) {
    it(`${template.family}: a conversation renders as a prefix of itself plus a next turn`, () => {
      for (const reply of replies) {
        const asked = conversation.slice(0, 2);
        const answered = [...asked, { role: "assistant" as const, content: reply }];
        const followed = [...answered, { role: "user" as const, content: `${reply}more?` }];
        const askedIds = template.render(asked, tokenizer);
        const answeredIds = template.render(answered, tokenizer);
        const followedIds = template.render(followed, tokenizer);
        expect(answeredIds.slice(0, askedIds.length), JSON.stringify(reply)).toEqual(askedIds);
        expect(followedIds.slice(0, answeredIds.length), JSON.stringify(reply)).toEqual(answeredIds);
      }
    });
  }
});
