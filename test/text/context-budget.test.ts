import { describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { type ChatMessage, chatTemplateFor } from "../../engine/text/chat-template.ts";
import { assertFits, fitConversation, measureContext } from "../../engine/text/context-budget.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";

const tokenizer = llamaTokenizer();
const template = chatTemplateFor("OpenELM-270M-Instruct");

function thrown(action: () => unknown): ElmwoodError {
  try {
    action();
  } catch (error) {
    if (error instanceof ElmwoodError) return error;
    throw error;
  }
  throw new Error("expected an ElmwoodError");
}

/** A history whose messages differ in length, so each count of dropped messages gives a different prompt. */
function history(turns: number): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: "system", content: "Answer briefly." }];
  for (let i = 0; i < turns; i++) {
    messages.push({ role: "user", content: `Question ${i}: ${"why ".repeat(5 + ((i * 7) % 13))}?` });
    messages.push({ role: "assistant", content: `Answer ${i}: ${"because ".repeat(3 + ((i * 5) % 11))}.` });
  }
  messages.push({ role: "user", content: "And finally?" });
  return messages;
}

describe("measureContext", () => {
  it("fits when the prompt and the reply's allowance fill the window exactly", () => {
    expect(measureContext(2000, 48, 2048)).toMatchObject({ fits: true, remaining: 0 });
  });

  it("does not fit one token over the window, and says by how much", () => {
    expect(measureContext(2000, 49, 2048)).toMatchObject({ fits: false, remaining: -1 });
  });

  it.each([
    [-1, 10, 2048],
    [10, 1.5, 2048],
    [10, 10, 0],
    [Number.NaN, 10, 2048],
  ])("rejects the counts (%s, %s, %s) with BAD_INPUT", (prompt, reply, window) => {
    expect(thrown(() => measureContext(prompt, reply, window)).code).toBe("BAD_INPUT");
  });
});

describe("assertFits", () => {
  it("passes a prompt that fits", () => {
    expect(() => assertFits(measureContext(100, 100, 2048))).not.toThrow();
  });

  it("refuses an overflowing prompt with the numbers and a way forward", () => {
    const error = thrown(() => assertFits(measureContext(1900, 256, 2048)));
    expect(error.code).toBe("CONTEXT_OVERFLOW");
    expect(error.message).toBe(
      "The prompt is 1900 tokens and the reply may use 256 more, but the model's window is 2048 tokens.",
    );
    expect(error.hint).toMatch(/new chat/);
  });
});

describe("fitConversation", () => {
  it("drops nothing when the whole conversation fits", () => {
    const messages = history(2);
    const whole = template.render(messages, tokenizer).length;
    expect(fitConversation(messages, template, tokenizer, whole + 100, 100)).toEqual({
      dropOldest: 0,
      promptTokens: whole,
      fits: true,
    });
  });

  it("reports the fewest oldest messages to drop, for every budget, without dropping them", () => {
    const messages = history(12);
    const before = JSON.stringify(messages);
    const droppable = messages.slice(1, -1);
    // Reference: drop one more message at a time until the rest fits.
    const lengths = droppable.map(
      (_, count) =>
        template.render([messages[0], ...droppable.slice(count), messages.at(-1) as ChatMessage], tokenizer)
          .length,
    );
    lengths.push(template.render([messages[0], messages.at(-1) as ChatMessage], tokenizer).length);
    for (let window = lengths.at(-1) as number; window <= lengths[0]; window += 17) {
      const expected = lengths.findIndex((length) => length <= window);
      const fit = fitConversation(messages, template, tokenizer, window + 64, 64);
      expect(fit, `window ${window}`).toEqual({
        dropOldest: expected,
        promptTokens: lengths[expected],
        fits: true,
      });
    }
    expect(JSON.stringify(messages)).toBe(before);
  });

  it("says it cannot fit when the system message and the newest message alone are too long", () => {
    const messages = history(3);
    const fit = fitConversation(messages, template, tokenizer, 20, 10);
    expect(fit.fits).toBe(false);
    expect(fit.dropOldest).toBe(messages.length - 2);
  });
});
