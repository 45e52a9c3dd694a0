import { describe, expect, it } from "vitest";
import { chunkSections } from "../../engine/documents/chunker.ts";
import { llamaTokenCounter } from "../../engine/documents/tokens.ts";
import type { Section } from "../../engine/documents/types.ts";

const countTokens = llamaTokenCounter();

function sentences(n: number): string {
  return Array.from(
    { length: n },
    (_, i) => `Sentence number ${i} describes topic ${i % 7} in some detail.`,
  ).join(" ");
}

describe("chunker", () => {
  it("keeps every chunk within the token limit of the real tokenizer", () => {
    const section: Section = { text: sentences(120), location: { label: "Intro" } };
    const chunks = chunkSections([section], { countTokens, maxTokens: 64, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(countTokens(chunk.text)).toBeLessThanOrEqual(64);
  });

  it("cuts at sentence boundaries and covers every sentence", () => {
    const text = sentences(50);
    const chunks = chunkSections([{ text, location: { label: "" } }], {
      countTokens,
      maxTokens: 50,
      overlapTokens: 0,
    });
    for (const chunk of chunks) {
      expect(chunk.text).toMatch(/^Sentence number \d+/);
      expect(chunk.text).toMatch(/detail\.$/);
    }
    expect(chunks.map((c) => c.text).join(" ")).toBe(text);
  });

  it("repeats whole trailing sentences of a chunk at the start of the next", () => {
    const chunks = chunkSections([{ text: sentences(40), location: { label: "" } }], {
      countTokens,
      maxTokens: 60,
      overlapTokens: 20,
    });
    for (let i = 1; i < chunks.length; i++) {
      const firstSentence = chunks[i].text.match(/^.*?detail\./)?.[0] ?? "";
      expect(chunks[i - 1].text.endsWith(firstSentence)).toBe(true);
    }
  });

  it("keeps each chunk's location and numbers chunks across sections", () => {
    const chunks = chunkSections(
      [
        { text: sentences(10), location: { label: "page 1", page: 1 } },
        { text: sentences(10), location: { label: "page 2", page: 2 } },
      ],
      { countTokens, maxTokens: 80 },
    );
    expect(chunks.map((c) => c.ordinal)).toEqual(chunks.map((_, i) => i));
    expect(new Set(chunks.map((c) => c.location.page))).toEqual(new Set([1, 2]));
  });

  it("gives code chunks the exact lines they cover", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `const value${i + 1} = compute(${i + 1});`);
    const chunks = chunkSections(
      [{ text: lines.join("\n"), location: { label: "lines 1–30", lines: [1, 30] }, unit: "line" }],
      { countTokens, maxTokens: 60 },
    );
    for (const chunk of chunks) {
      const [a, b] = chunk.location.lines ?? [0, 0];
      expect(chunk.text).toBe(lines.slice(a - 1, b).join("\n"));
      expect(chunk.location.label).toBe(`lines ${a}–${b}`);
    }
    expect(chunks[chunks.length - 1].location.lines?.[1]).toBe(30);
  });

  it("splits a sentence longer than a chunk by words, and a word longer than a chunk by characters", () => {
    const long = `${"word ".repeat(300)}${"x".repeat(2000)}`;
    const chunks = chunkSections([{ text: long, location: { label: "" } }], { countTokens, maxTokens: 40 });
    for (const chunk of chunks) expect(countTokens(chunk.text)).toBeLessThanOrEqual(40);
    expect(
      chunks
        .map((c) => c.text)
        .join("")
        .replace(/\s/g, ""),
    ).toBe(long.replace(/\s/g, ""));
  });

  it("cuts megabytes of text in bounded memory and time", () => {
    // Intl.Segmenter copies its whole input into every segment; the chunker must feed it windows.
    const text = "Short sentence here. ".repeat(100_000);
    const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
    const started = performance.now();
    const chunks = chunkSections([{ text, location: { label: "" } }], { countTokens: words, maxTokens: 300 });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(chunks.map((c) => c.text).join(" ")).toBe(text.trim());
  });
});
