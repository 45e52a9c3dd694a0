import { describe, expect, it } from "vitest";
import { type SummaryEvent, spanLabel, summarizeSections } from "../../engine/documents/summarize.ts";
import type { Section } from "../../engine/documents/types.ts";
import { fakeCompletion } from "./fake-completion.ts";

/** A long document of numbered sentences on numbered pages. */
function pages(count: number, sentencesPerPage: number): Section[] {
  let id = 0;
  return Array.from({ length: count }, (_, p) => ({
    text: Array.from(
      { length: sentencesPerPage },
      () =>
        `S${String(++id).padStart(4, "0")} reports that the harvest in the northern valley was larger than expected.`,
    ).join(" "),
    location: { label: `page ${p + 1}`, page: p + 1 },
  }));
}

const userText = (call: { messages: { content: string }[] }) =>
  call.messages[call.messages.length - 1].content;

describe("summarize (map-reduce over the model window)", () => {
  const document = pages(40, 60); // 2400 sentences, about 55,000 template tokens: over 25 windows

  it("maps every chunk exactly once, keeps every prompt inside the window, and reduces until it fits", async () => {
    const completion = fakeCompletion(2048);
    const events: SummaryEvent[] = [];
    const result = await summarizeSections(document, completion, {
      style: "bullets",
      onEvent: (e) => events.push(e),
    });

    for (const call of completion.calls) {
      expect(call.promptTokens + call.maxNewTokens).toBeLessThanOrEqual(completion.contextLength);
    }
    const maps = completion.calls.filter((c) => userText(c).startsWith("Summarize this part"));
    const seen = maps.flatMap((c) => userText(c).match(/S\d{4}/g) ?? []);
    expect(seen).toHaveLength(2400);
    expect(new Set(seen).size).toBe(2400);
    expect(maps.length).toBe(result.parts.length);
    expect(result.levels).toBeGreaterThanOrEqual(2);

    const mapEvents = events.filter((e) => e.type === "progress" && e.stage === "map");
    expect(mapEvents.map((e) => e.type === "progress" && `${e.part}/${e.of}`)).toEqual(
      maps.map((_, i) => `${i + 1}/${maps.length}`),
    );
    let previous = maps.length;
    for (let level = 1; level < result.levels; level++) {
      const parts = events.filter((e) => e.type === "progress" && e.stage === "reduce" && e.level === level);
      expect(parts.length).toBeGreaterThan(0);
      expect(parts.length).toBeLessThan(previous);
      expect(parts.map((e) => e.type === "progress" && e.part)).toEqual(parts.map((_, i) => i + 1));
      previous = parts.length;
    }
    expect(events.filter((e) => e.type === "progress" && e.stage === "final")).toHaveLength(1);

    const streamed = events.flatMap((e) => (e.type === "text" ? [e.delta] : [])).join("");
    expect(streamed.trim()).toBe(result.summary);
    expect(result.calls).toBe(completion.calls.length);
  });

  it("says which pages each part of the summary came from, in order and without gaps", async () => {
    const result = await summarizeSections(document, fakeCompletion(2048), { style: "short" });
    expect(result.parts[0].location).toMatch(/^pages? 1(–\d+)?$/);
    expect(result.parts[result.parts.length - 1].location).toMatch(/40$/);
    result.parts.forEach((part, i) => {
      expect(part.chunks).toEqual([i, i]);
      const first = Number(part.summary.match(/covers S(\d{4})/)?.[1]);
      const previousLast = i ? Number(result.parts[i - 1].summary.match(/-S(\d{4})/)?.[1]) : 0;
      expect(first).toBe(previousLast + 1);
    });
  });

  it("summarizes a document that fits the window in one streamed call", async () => {
    const completion = fakeCompletion(2048);
    const deltas: string[] = [];
    const result = await summarizeSections(pages(1, 5), completion, {
      onEvent: (e) => e.type === "text" && deltas.push(e.delta),
    });
    expect(completion.calls).toHaveLength(1);
    expect(result.levels).toBe(0);
    expect(deltas.join("").trim()).toBe(result.summary);
    expect(result.parts).toEqual([{ location: "page 1", chunks: [0, 0], summary: result.summary }]);
  });

  it("stops promptly when cancelled", async () => {
    const completion = fakeCompletion(2048);
    const abort = new AbortController();
    const run = summarizeSections(document, completion, {
      signal: abort.signal,
      onEvent: (e) => {
        if (e.type === "progress" && e.part === 3) abort.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: "CANCELLED" });
    expect(completion.calls.length).toBeLessThanOrEqual(2);
  });

  it("refuses an unknown style and an empty document with clear messages", async () => {
    await expect(summarizeSections(document, fakeCompletion(), { style: "haiku" as never })).rejects.toThrow(
      /Unknown summary style/,
    );
    await expect(summarizeSections([], fakeCompletion())).rejects.toThrow(/no text to summarize/);
  });

  it("labels runs of pages and lines as spans", () => {
    expect(spanLabel(["page 2", "page 3", "page 5"])).toBe("pages 2–5");
    expect(spanLabel(["lines 1–40", "lines 41–90"])).toBe("lines 1–90");
    expect(spanLabel(["Intro", "Intro", "Results"])).toBe("Intro – Results");
    expect(spanLabel(["", ""])).toBe("");
  });
});
