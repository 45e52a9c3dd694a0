import { describe, expect, it } from "vitest";
import { assertConversationFits, renderPrompt } from "../../engine/chat/prompt.ts";
import { type ChatMessage, chatTemplateFor } from "../../engine/text/chat-template.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";

const tokenizer = llamaTokenizer();
const instruct = chatTemplateFor("openelm-270m-instruct");
const base = chatTemplateFor("openelm-270m");

/** Ids a model could generate that do not come back from encoding their own text. */
function awkwardReply(): number[] {
  // "▁Hel" + "lo": the encoder would merge these into "▁Hello".
  const hello = tokenizer.encode("Hello")[0];
  const pieces = tokenizer.encode("Hel").concat(tokenizer.encode("lo", { dummyPrefix: false }));
  expect(pieces).not.toEqual([hello]);
  return pieces;
}

describe("prompt rendering with the reply's own token ids", () => {
  for (const [name, template] of [
    ["instruct", instruct],
    ["base", base],
  ] as const) {
    it(`the second turn's prompt starts with the first prompt plus the generated ids (${name})`, () => {
      const first = [
        { role: "system" as const, content: "Be brief." },
        { role: "user" as const, content: "Say hello." },
      ];
      const prompt1 = renderPrompt(first, template, tokenizer);
      const reply = awkwardReply();
      const prompt2 = renderPrompt(
        [
          ...first,
          { role: "assistant", content: tokenizer.decode(reply), tokens: reply },
          { role: "user", content: "Again." },
        ],
        template,
        tokenizer,
      );
      expect(prompt2.slice(0, prompt1.length + reply.length)).toEqual([...prompt1, ...reply]);
    });
  }

  it("without ids the reply is rendered from its text, as the template does", () => {
    const messages = [
      { role: "user" as const, content: "Hi" },
      { role: "assistant" as const, content: "Hello there" },
      { role: "user" as const, content: "Bye" },
    ];
    expect(renderPrompt(messages, instruct, tokenizer)).toEqual(instruct.render(messages, tokenizer));
  });

  it("closes an instruct reply with </s> after its ids", () => {
    const reply = tokenizer.encode("Hi");
    const prompt = renderPrompt(
      [
        { role: "user", content: "a" },
        { role: "assistant", content: "Hi", tokens: reply },
        { role: "user", content: "b" },
      ],
      instruct,
      tokenizer,
    );
    const at = prompt.indexOf(reply[0]);
    expect(prompt[at + reply.length]).toBe(tokenizer.eosId);
  });
});

describe("fitting the window", () => {
  const counter = (messages: readonly ChatMessage[]) => instruct.render(messages, tokenizer).length;
  const turn = (n: number) => [
    { role: "user" as const, content: `question ${n} ${"word ".repeat(100)}` },
    { role: "assistant" as const, content: `answer ${n} ${"word ".repeat(100)}` },
  ];

  it("refuses a conversation that does not fit and says how many oldest messages would have to go", () => {
    const messages = [...turn(1), ...turn(2), ...turn(3), { role: "user" as const, content: "last" }];
    const length = instruct.render(messages, tokenizer).length;
    const window = length + 100; // fits with a 100-token reply, not with 300
    const model = { contextLength: window, count: counter };
    const prompt = { tokens: length, estimated: false };
    expect(() => assertConversationFits(messages, prompt, 100, model)).not.toThrow();
    expect(() => assertConversationFits(messages, prompt, 300, model)).toThrow(
      expect.objectContaining({
        code: "CONTEXT_OVERFLOW",
        message: expect.stringMatching(/the oldest 2 messages would have to be left out/),
      }),
    );
  });

  it("says so when even the new message alone is too long", () => {
    const messages = [{ role: "user" as const, content: "word ".repeat(3000) }];
    const length = instruct.render(messages, tokenizer).length;
    const model = { contextLength: 2048, count: counter };
    expect(() => assertConversationFits(messages, { tokens: length, estimated: false }, 100, model)).toThrow(
      /new message alone/,
    );
  });
});
