/** How a remote model takes a prompt: messages as they are, sized by estimate or by the engine's own count. */
import { describe, expect, it } from "vitest";
import { estimateMessageTokens } from "../../engine/remote/estimate.ts";
import { remotePromptModel } from "../../engine/remote/remote-model.ts";

const model = remotePromptModel({
  name: "gpu/llama",
  id: "llama",
  engine: "gpu",
  host: "gpu-box:8000",
  contextLength: 8192,
});

describe("a remote model's prompt", () => {
  it("is the messages as written, with no token ids and no stop strings of Elmwood's templates", () => {
    const prepared = model.prepare([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!", tokens: [1, 2, 3] },
      { role: "user", content: "Again" },
    ]);
    expect(prepared.prompt).toEqual({
      kind: "messages",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "Again" },
      ],
    });
    expect(prepared).toMatchObject({ estimated: true, stopStrings: [] });
    expect(model).toMatchObject({ family: "remote", remote: { engine: "gpu", host: "gpu-box:8000" } });
  });

  it("estimates its size from the text, larger for longer text", () => {
    const short = model.count([{ role: "user", content: "Hi" }]);
    const long = model.count([{ role: "user", content: "word ".repeat(100) }]);
    expect(long).toBeGreaterThan(short + 100);
  });

  it("counts a conversation from the engine's own count of the last reply, estimating only what follows", () => {
    const after = { role: "user" as const, content: "A follow-up question" };
    const prepared = model.prepare([
      { role: "user", content: "x".repeat(4000) },
      { role: "assistant", content: "Yes.", measured: 120 },
      after,
    ]);
    expect(prepared.tokens).toBe(120 + estimateMessageTokens([after]));
  });

  it("sends raw text to the completions endpoint", () => {
    expect(model.prepareText("Once upon a time").prompt).toEqual({ kind: "text", text: "Once upon a time" });
  });
});
