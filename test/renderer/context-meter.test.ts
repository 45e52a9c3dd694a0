import { describe, expect, it } from "vitest";
import { describeContext, estimateContext, messageTokens } from "../../renderer/chat/context-meter.ts";
import { message, stats } from "./fake-api.ts";

/** A conversation of `turns` exchanges, each measured by the engine at `perTurn` tokens. */
function conversation(turns: number, perTurn: { user: number; reply: number }) {
  const messages = [];
  let prompt = 0;
  for (let i = 0; i < turns; i++) {
    prompt += perTurn.user;
    messages.push(message({ role: "user", content: "x".repeat(40) }));
    messages.push(
      message({ role: "assistant", content: "y".repeat(40), stats: stats(prompt, perTurn.reply) }),
    );
    prompt += perTurn.reply;
  }
  return messages;
}

describe("context meter", () => {
  it("takes each message's size from the engine's counts where it measured them", () => {
    const sizes = messageTokens(conversation(2, { user: 30, reply: 100 }), "");
    expect(sizes).toEqual([30, 100, 30, 100]);
  });

  it("says nothing while the conversation fits comfortably", () => {
    const estimate = estimateContext(conversation(2, { user: 30, reply: 100 }), {
      draft: "Thanks",
      systemPrompt: "",
      limit: 2048,
      reserve: 512,
    });
    expect(estimate.level).toBe("ok");
    expect(describeContext(estimate)).toBeNull();
  });

  it("turns amber near the end of the window, before anything would be cut", () => {
    const estimate = estimateContext(conversation(6, { user: 50, reply: 180 }), {
      draft: "",
      systemPrompt: "",
      limit: 2048,
      reserve: 400,
    });
    expect(estimate.dropOldest).toBe(0);
    expect(estimate.level).toBe("near");
    expect(describeContext(estimate)).toMatch(/^Nearly full/);
  });

  it("names how many of the oldest messages would no longer fit", () => {
    const estimate = estimateContext(conversation(8, { user: 50, reply: 150 }), {
      draft: "x".repeat(546),
      systemPrompt: "",
      limit: 2048,
      reserve: 512,
    });
    // 1600 tokens of history + a draft of about 160 against a budget of 2048 - 512 = 1536: dropping
    // 50 + 150 is not enough, dropping the next 50 is.
    expect(estimate.dropOldest).toBe(3);
    expect(describeContext(estimate)).toBe(
      "The oldest 3 messages will no longer fit; summarize them or start a new chat.",
    );
  });

  it("speaks of one message in the singular", () => {
    // 1400 + about 160 is just over 1536; the oldest 50-token message is enough.
    const estimate = estimateContext(conversation(7, { user: 50, reply: 150 }), {
      draft: "x".repeat(546),
      systemPrompt: "",
      limit: 2048,
      reserve: 512,
    });
    expect(estimate.dropOldest).toBe(1);
    expect(describeContext(estimate)).toBe(
      "The oldest message will no longer fit; summarize it or start a new chat.",
    );
  });

  it("asks to shorten a message that could never fit, whatever is dropped", () => {
    const estimate = estimateContext([], {
      draft: "z".repeat(8000),
      systemPrompt: "",
      limit: 2048,
      reserve: 512,
    });
    expect(estimate.fits).toBe(false);
    expect(describeContext(estimate)).toMatch(/shorten it or lower the maximum reply length/);
  });
});
