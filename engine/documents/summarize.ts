/**
 * Summarizes a whole document with a window of 2048 tokens by hierarchical map-reduce: the document is
 * cut into chunks that fit one prompt (map: one summary per chunk), then neighbouring summaries are
 * combined in groups that fit (reduce), level after level, until one prompt holds them all; that last
 * call writes the summary in the chosen style and is streamed. Every part keeps the location it came
 * from, so the result can show which part of the document each piece of the summary rests on.
 */
import { cancelled, ElmwoodError, throwIfAborted } from "../errors.ts";
import { chunkSections } from "./chunker.ts";
import type { ChatMessage, Completion } from "./completion.ts";
import type { Chunk, CountTokens, Location, Section } from "./types.ts";

export type SummaryStyle = "short" | "bullets" | "detailed";
export const SUMMARY_STYLES: readonly SummaryStyle[] = ["short", "bullets", "detailed"];

export type SummaryEvent =
  /** Part `part` of `of` at this stage is starting (1-based). Map is level 0; reduce levels count up. */
  | { type: "progress"; stage: "map" | "reduce" | "final"; level: number; part: number; of: number }
  /** Streamed text of the final summary. */
  | { type: "text"; delta: string };

export interface SummaryPart {
  /** Where in the document: "pages 3–5", "Setup", "lines 1–80". */
  location: string;
  /** The chunks it covers, [first, last], 0-based. */
  chunks: [number, number];
  summary: string;
}

export interface SummaryResult {
  style: SummaryStyle;
  summary: string;
  /** The first-level summaries, in document order, each with its source location. */
  parts: SummaryPart[];
  /** Reduce levels above the map (0 when the document fitted in one prompt). */
  levels: number;
  /** Model calls made, final one included. */
  calls: number;
}

export interface SummarizeOptions {
  style?: SummaryStyle;
  signal?: AbortSignal;
  onEvent?: (event: SummaryEvent) => void;
  /** Tokens each map and intermediate reduce call may write; default 200. */
  partTokens?: number;
  /** Tokens the final summary may write; default by style. */
  finalTokens?: number;
}

const FINAL_TOKENS: Record<SummaryStyle, number> = { short: 160, bullets: 320, detailed: 560 };

const STYLE_INSTRUCTION: Record<SummaryStyle, string> = {
  short: "Write a short summary of the whole document in two or three sentences.",
  bullets: "Summarize the whole document as three to seven bullet points, each line starting with '- '.",
  detailed:
    "Write a detailed summary of the whole document, one paragraph for each main topic, in document order.",
};

const SYSTEM =
  "You summarize documents faithfully. Use only the text you are given; keep names, numbers and conclusions.";

/** Room left unused in every prompt, for the template's rounding and the end-of-turn token. */
const MARGIN = 8;

interface Piece {
  text: string;
  location: string;
  chunks: [number, number];
}

export async function summarizeSections(
  sections: readonly Section[],
  completion: Completion,
  options: SummarizeOptions = {},
): Promise<SummaryResult> {
  const style = options.style ?? "short";
  if (!SUMMARY_STYLES.includes(style)) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `Unknown summary style '${style}'.`,
      `Use one of: ${SUMMARY_STYLES.join(", ")}.`,
    );
  }
  const partTokens = options.partTokens ?? 200;
  const finalTokens = options.finalTokens ?? FINAL_TOKENS[style];
  const { signal, onEvent } = options;
  const window = completion.contextLength;
  let calls = 0;

  const call = async (messages: ChatMessage[], maxNewTokens: number, stream: boolean): Promise<string> => {
    throwIfAborted(signal, "Summarizing");
    calls++;
    const onText = stream && onEvent ? (delta: string) => onEvent({ type: "text", delta }) : undefined;
    try {
      const text = await completion.complete(messages, { maxNewTokens, signal, onText });
      throwIfAborted(signal, "Summarizing");
      return text.trim();
    } catch (error) {
      if (signal?.aborted) throw cancelled("Summarizing");
      throw error;
    }
  };
  const fits = (messages: ChatMessage[], out: number) =>
    completion.countTokens(messages) + out + MARGIN <= window;

  // Chunk sizes come from the completion's own count, so a chunk always fits the prompt built around it.
  const emptyUser = completion.countTokens([{ role: "user", content: "" }]);
  const countTokens: CountTokens = (text) =>
    completion.countTokens([{ role: "user", content: text }]) - emptyUser;
  const singleOut = Math.max(partTokens, finalTokens);
  const singleBudget =
    window -
    completion.countTokens(finalPrompt(style, [{ text: "", location: "", chunks: [0, 0] }], true)) -
    singleOut -
    MARGIN;
  const mapBudget =
    window -
    completion.countTokens(mapPrompt({ text: "", location: "", chunks: [0, 0] }, 1, 1)) -
    partTokens -
    MARGIN;
  if (mapBudget < 64) {
    throw new ElmwoodError(
      "CONTEXT_OVERFLOW",
      `The model's window (${window} tokens) is too small to summarize with ${partTokens}-token parts.`,
      "Use a model with a larger window.",
    );
  }

  const whole = chunkSections(sections, { countTokens, maxTokens: Math.max(singleBudget, 1) });
  if (whole.length === 0) throw new ElmwoodError("BAD_INPUT", "The document has no text to summarize.");
  // A document that fits in one prompt is summarized in one call.
  if (whole.length === 1 && fits(finalPrompt(style, [pieceOf(whole, 0, 0)], true), finalTokens)) {
    onEvent?.({ type: "progress", stage: "final", level: 0, part: 1, of: 1 });
    const only = pieceOf(whole, 0, 0);
    const summary = await call(finalPrompt(style, [only], true), finalTokens, true);
    return {
      style,
      summary,
      parts: [{ location: only.location, chunks: only.chunks, summary }],
      levels: 0,
      calls,
    };
  }

  // Map: every chunk summarized once, in order.
  const chunks = fitEach(chunkSections(sections, { countTokens, maxTokens: mapBudget }), (chunk, n) =>
    fits(mapPrompt(pieceOf([chunk], 0, 0), n, n), partTokens),
  );
  const parts: SummaryPart[] = [];
  for (let i = 0; i < chunks.length; i++) {
    onEvent?.({ type: "progress", stage: "map", level: 0, part: i + 1, of: chunks.length });
    const piece = { ...pieceOf(chunks, i, i), chunks: [i, i] as [number, number] };
    const summary = await call(mapPrompt(piece, i + 1, chunks.length), partTokens, false);
    parts.push({ location: piece.location, chunks: piece.chunks, summary });
  }

  // Reduce: combine neighbours in groups that fit, until one final prompt holds everything.
  let level = 0;
  let items: Piece[] = parts.map((p) => ({ text: p.summary, location: p.location, chunks: p.chunks }));
  while (!fits(finalPrompt(style, items, false), finalTokens)) {
    level++;
    const groups = groupToFit(items, (group) => fits(reducePrompt(group), partTokens));
    if (groups.length >= items.length) {
      throw new ElmwoodError(
        "CONTEXT_OVERFLOW",
        "The partial summaries are too long to combine in the model's window.",
        "Choose a shorter style, or summarize a smaller part of the document.",
      );
    }
    const next: Piece[] = [];
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g];
      onEvent?.({ type: "progress", stage: "reduce", level, part: g + 1, of: groups.length });
      const chunkSpan: [number, number] = [group[0].chunks[0], group[group.length - 1].chunks[1]];
      const location = spanLabel(group.map((p) => p.location));
      const text = group.length === 1 ? group[0].text : await call(reducePrompt(group), partTokens, false);
      next.push({ text, location, chunks: chunkSpan });
    }
    items = next;
  }
  onEvent?.({ type: "progress", stage: "final", level: level + 1, part: 1, of: 1 });
  const summary = await call(finalPrompt(style, items, false), finalTokens, true);
  return { style, summary, parts, levels: level + 1, calls };

  function pieceOf(list: readonly Chunk[], first: number, last: number): Piece {
    const text = list
      .slice(first, last + 1)
      .map((c) => c.text)
      .join("\n\n");
    return {
      text,
      location: spanLabel(list.slice(first, last + 1).map((c) => labelOf(c.location))),
      chunks: [first, last],
    };
  }
}

function mapPrompt(piece: Piece, part: number, of: number): ChatMessage[] {
  const where = piece.location ? `, ${piece.location}` : "";
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: `Summarize this part of a document (part ${part} of ${of}${where}) in a few sentences.\n\n---\n${piece.text}\n---`,
    },
  ];
}

function reducePrompt(group: readonly Piece[]): ChatMessage[] {
  const body = group
    .map((p, k) => `Part ${k + 1}${p.location ? ` (${p.location})` : ""}:\n${p.text}`)
    .join("\n\n");
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: `These are summaries of consecutive parts of one document. Combine them into one summary that keeps the important points.\n\n${body}`,
    },
  ];
}

function finalPrompt(style: SummaryStyle, items: readonly Piece[], isWholeText: boolean): ChatMessage[] {
  const body = isWholeText
    ? `---\n${items.map((p) => p.text).join("\n\n")}\n---`
    : items.map((p, k) => `Part ${k + 1}${p.location ? ` (${p.location})` : ""}:\n${p.text}`).join("\n\n");
  const intro = isWholeText
    ? "Here is a document."
    : "Here are summaries of the parts of a document, in order.";
  return [
    { role: "system", content: SYSTEM },
    { role: "user", content: `${intro}\n\n${body}\n\n${STYLE_INSTRUCTION[style]}` },
  ];
}

/**
 * Checks every chunk against the real prompt and splits the rare one that does not fit (the per-sentence
 * count can differ from the rendered prompt's by a few tokens) in halves at a sentence, until all fit.
 */
function fitEach(chunks: Chunk[], fitsAlone: (chunk: Chunk, n: number) => boolean): Chunk[] {
  const out: Chunk[] = [];
  const pending = [...chunks];
  while (pending.length) {
    const chunk = pending.shift() as Chunk;
    if (fitsAlone(chunk, chunks.length) || chunk.text.length < 2) {
      out.push(chunk);
      continue;
    }
    const middle = splitPoint(chunk.text);
    pending.unshift(
      { ...chunk, text: chunk.text.slice(0, middle).trim(), tokenCount: Math.ceil(chunk.tokenCount / 2) },
      { ...chunk, text: chunk.text.slice(middle).trim(), tokenCount: Math.ceil(chunk.tokenCount / 2) },
    );
  }
  return out.map((c, ordinal) => ({ ...c, ordinal }));
}

function splitPoint(text: string): number {
  const half = Math.floor(text.length / 2);
  const sentence = text.indexOf(". ", half);
  if (sentence > 0 && sentence < text.length - 2) return sentence + 2;
  const space = text.indexOf(" ", half);
  return space > 0 ? space + 1 : half;
}

/** Consecutive items in groups as large as fit one prompt (at least one each). */
function groupToFit(items: readonly Piece[], fitsGroup: (group: Piece[]) => boolean): Piece[][] {
  const groups: Piece[][] = [];
  let current: Piece[] = [];
  for (const item of items) {
    if (current.length && !fitsGroup([...current, item])) {
      groups.push(current);
      current = [];
    }
    current.push(item);
  }
  if (current.length) groups.push(current);
  return groups;
}

function labelOf(location: Location): string {
  return location.label;
}

/** One label for a run of locations: "pages 3–5", "lines 10–90", "Intro – Results", or the only one. */
export function spanLabel(labels: readonly string[]): string {
  const present = labels.filter(Boolean);
  if (!present.length) return "";
  const first = present[0];
  const last = present[present.length - 1];
  if (first === last) return first;
  const page = /^pages? (\d+)(?:–(\d+))?$/;
  const lines = /^lines? (\d+)(?:–(\d+))?$/;
  for (const [pattern, plural] of [
    [page, "pages"],
    [lines, "lines"],
  ] as const) {
    const a = pattern.exec(first);
    const b = pattern.exec(last);
    if (a && b) return `${plural} ${a[1]}–${b[2] ?? b[1]}`;
  }
  return `${first} – ${last}`;
}
