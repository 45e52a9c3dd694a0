/**
 * Which parts of a document each sentence of its summary most likely came from. The final summary is
 * written from the parts' own summaries, so a sentence's sources are the parts whose summaries share
 * the most of its words; the view highlights them while the sentence is hovered or focused.
 */

export interface SummaryLine {
  /** A bullet point ("- ", "* " or "1. ") or a plain line of text. */
  bullet: boolean;
  sentences: { text: string; sources: number[] }[];
}

const WORD = /\p{L}[\p{L}\p{N}'-]{3,}/gu;

function wordsOf(text: string): Set<string> {
  return new Set((text.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/'s$/, "")));
}

/** Parts sharing at least a third of the sentence's words, and close to the best match. */
function sourcesOf(sentence: Set<string>, parts: readonly Set<string>[]): number[] {
  if (sentence.size === 0) return [];
  const scores = parts.map((part) => {
    let shared = 0;
    for (const word of sentence) if (part.has(word)) shared++;
    return shared / sentence.size;
  });
  const best = Math.max(0, ...scores);
  if (best < 1 / 3) return [];
  return scores.flatMap((score, i) => (score >= best * 0.75 ? [i] : []));
}

export function summarySources(summary: string, partSummaries: readonly string[]): SummaryLine[] {
  const parts = partSummaries.map(wordsOf);
  const segmenter = new Intl.Segmenter(undefined, { granularity: "sentence" });
  return summary
    .split(/\n+/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const bullet = /^([-*•]|\d+[.)])\s+/.test(line);
      const text = line.replace(/^([-*•]|\d+[.)])\s+/, "");
      const sentences = [...segmenter.segment(text)]
        .map((s) => s.segment.trim())
        .filter((s) => s.length > 0)
        .map((sentence) => ({ text: sentence, sources: sourcesOf(wordsOf(sentence), parts) }));
      return { bullet, sentences };
    });
}
