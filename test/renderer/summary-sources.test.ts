import { describe, expect, it } from "vitest";
import { summarySources } from "../../renderer/documents/summary-sources.ts";

const parts = [
  "The harbour master counted forty ships carrying grain before the storm.",
  "A lighthouse keeper wrote about the storm flooding the lower town.",
  "Merchants rebuilt the warehouses with timber from the northern forests.",
];

describe("summary sources", () => {
  it("links each sentence to the parts that share its words", () => {
    const lines = summarySources(
      "Forty ships carrying grain reached the harbour. Merchants rebuilt warehouses with northern timber.",
      parts,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0].sentences.map((s) => s.sources)).toEqual([[0], [2]]);
  });

  it("keeps bullet points as lines, and a sentence sharing nothing has no sources", () => {
    const lines = summarySources(
      "- The storm flooded the lower town.\n- Completely unrelated words here.",
      parts,
    );
    expect(lines.map((l) => l.bullet)).toEqual([true, true]);
    expect(lines[0].sentences[0]).toEqual({ text: "The storm flooded the lower town.", sources: [1] });
    expect(lines[1].sentences[0].sources).toEqual([]);
  });
});
