import { describe, expect, it } from "vitest";
import type { Completion } from "../../engine/documents/completion.ts";
import {
  askAboutResults,
  buildGroundedPrompt,
  NOT_FOUND_SENTENCE,
  parseCitations,
} from "../../engine/documents/grounded.ts";
import { fakeCompletion } from "./fake-completion.ts";

const sources = [
  { path: "/docs/tides.txt", location: "lines 1–3", text: "Spring tides happen at new and full moon." },
  { path: "/docs/moon.pdf", location: "page 2", text: "The moon orbits the earth every 27.3 days." },
  { path: "/docs/bread.md", location: "Sourdough", text: "A starter needs flour and water daily." },
];

function answering(text: string): Completion & { prompts: string[] } {
  const base = fakeCompletion(2048);
  const prompts: string[] = [];
  return {
    ...base,
    prompts,
    async complete(messages, options) {
      prompts.push(messages.map((m) => m.content).join("\n"));
      options.onText?.(text);
      return text;
    },
  };
}

describe("ask about these results", () => {
  it("numbers the results in the prompt and asks for citations and an explicit 'not found'", () => {
    const { messages, sourcesUsed } = buildGroundedPrompt(
      "When are spring tides?",
      sources,
      fakeCompletion(),
    );
    const prompt = messages.map((m) => m.content).join("\n");
    expect(sourcesUsed).toBe(3);
    expect(prompt).toContain("[1] /docs/tides.txt (lines 1–3)\nSpring tides");
    expect(prompt).toContain("[3] /docs/bread.md (Sourdough)");
    expect(prompt).toContain(NOT_FOUND_SENTENCE);
    expect(prompt).toMatch(/cite/i);
  });

  it("puts in only as many results as fit the window, best first", () => {
    const long = Array.from({ length: 12 }, (_, i) => ({
      path: `/d/${i}.txt`,
      location: "",
      text: "word ".repeat(400),
    }));
    const completion = fakeCompletion(2048);
    const { messages, sourcesUsed } = buildGroundedPrompt("What?", long, completion, { maxNewTokens: 300 });
    expect(sourcesUsed).toBeGreaterThan(0);
    expect(sourcesUsed).toBeLessThan(12);
    expect(completion.countTokens(messages) + 300).toBeLessThanOrEqual(2048);
    expect(messages[1].content).toContain(`[${sourcesUsed}] /d/${sourcesUsed - 1}.txt`);
  });

  it("maps the answer's citations back to the results and flags made-up numbers", async () => {
    const result = await askAboutResults(
      "When are spring tides?",
      sources,
      answering("At new and full moon [1], monthly [2][7]."),
    );
    expect(result.citations.map((c) => [c.n, c.source.path])).toEqual([
      [1, "/docs/tides.txt"],
      [2, "/docs/moon.pdf"],
    ]);
    expect(result.invalidCitations).toEqual([7]);
    expect(result.notFound).toBe(false);
  });

  it("recognises the answer that the results do not contain it", async () => {
    const result = await askAboutResults(
      "Who won the 1998 World Cup?",
      sources,
      answering(NOT_FOUND_SENTENCE),
    );
    expect(result.notFound).toBe(true);
    expect(result.citations).toEqual([]);
  });

  it("reads citation lists and ranges", () => {
    expect(parseCitations("see [1, 3] and [2-3]", 3)).toEqual({
      cited: [1, 3, 2],
      invalid: [],
      notFound: false,
    });
  });

  it("rejects an empty question", () => {
    expect(() => buildGroundedPrompt("  ", sources, fakeCompletion())).toThrow(/question is empty/);
  });
});
