/**
 * Cuts sections into chunks of at most `maxTokens` tokens of the real tokenizer, at sentence (or,
 * for code, line) boundaries, with an overlap of whole sentences between neighbours so a passage cut
 * in two is still found whole in one of them. A chunk never crosses a section, so it keeps one
 * location; for text and code with a line span it gets the exact lines it covers.
 */
import type { Chunk, CountTokens, Location, Section } from "./types.ts";

export interface ChunkOptions {
  countTokens: CountTokens;
  /** The most tokens a chunk may hold (counted per sentence, which never undercounts the whole). */
  maxTokens: number;
  /** Tokens of trailing sentences repeated at the start of the next chunk; 0 for none. */
  overlapTokens?: number;
}

interface Unit {
  start: number;
  end: number;
  tokens: number;
}

const sentences = new Intl.Segmenter(undefined, { granularity: "sentence" });

export function chunkSections(sections: readonly Section[], options: ChunkOptions): Chunk[] {
  if (!(options.maxTokens >= 1))
    throw new RangeError(`maxTokens must be at least 1, got ${options.maxTokens}`);
  const chunks: Chunk[] = [];
  for (const section of sections) {
    for (const piece of chunkSection(section, options)) chunks.push({ ...piece, ordinal: chunks.length });
  }
  return chunks;
}

function chunkSection(section: Section, options: ChunkOptions): Omit<Chunk, "ordinal">[] {
  const { countTokens, maxTokens } = options;
  const overlap = Math.max(0, Math.min(options.overlapTokens ?? 0, Math.floor(maxTokens / 2)));
  const units = splitUnits(section, countTokens, maxTokens);
  const lineStarts = section.location.lines ? newlineOffsets(section.text) : undefined;
  const out: Omit<Chunk, "ordinal">[] = [];
  let first = 0;
  while (first < units.length) {
    let last = first;
    let tokens = units[first].tokens;
    while (last + 1 < units.length && tokens + units[last + 1].tokens <= maxTokens)
      tokens += units[++last].tokens;
    const start = units[first].start;
    const end = units[last].end;
    const raw = section.text.slice(start, end);
    const text = raw.trim();
    if (text) {
      const lead = start + (raw.length - raw.trimStart().length);
      out.push({
        text,
        tokenCount: tokens,
        location: locate(section.location, lineStarts, lead, lead + text.length),
      });
    }
    if (last + 1 >= units.length) break;
    // Step back over whole trailing units that fit the overlap, always moving forward by at least one.
    let next = last + 1;
    let carried = 0;
    while (next - 1 > first && carried + units[next - 1].tokens <= overlap) carried += units[--next].tokens;
    first = next;
  }
  return out;
}

/** Sentences (or lines), each split further by words, then characters, if it alone exceeds the limit. */
function splitUnits(section: Section, countTokens: CountTokens, maxTokens: number): Unit[] {
  const units: Unit[] = [];
  const text = section.text;
  const pieces: [number, number][] = [];
  if (section.unit === "line") {
    let at = 0;
    while (at < text.length) {
      const nl = text.indexOf("\n", at);
      const end = nl < 0 ? text.length : nl + 1;
      pieces.push([at, end]);
      at = end;
    }
  } else {
    for (const [from, to] of windows(text)) {
      for (const s of sentences.segment(text.slice(from, to)))
        pieces.push([from + s.index, from + s.index + s.segment.length]);
    }
  }
  for (const [start, end] of pieces) {
    const slice = text.slice(start, end);
    if (!slice.trim()) {
      units.push({ start, end, tokens: 0 });
      continue;
    }
    const tokens = countTokens(slice);
    if (tokens <= maxTokens) units.push({ start, end, tokens });
    else splitLong(text, start, end, countTokens, maxTokens, units);
  }
  return units;
}

function splitLong(
  text: string,
  start: number,
  end: number,
  countTokens: CountTokens,
  maxTokens: number,
  out: Unit[],
) {
  const words = /\S+\s*/g;
  words.lastIndex = start;
  const leading = text.slice(start, end).search(/\S/);
  if (leading > 0) out.push({ start, end: start + leading, tokens: 0 });
  for (let m = words.exec(text); m && m.index < end; m = words.exec(text)) {
    const wordEnd = Math.min(end, m.index + m[0].length);
    const tokens = countTokens(text.slice(m.index, wordEnd));
    if (tokens <= maxTokens) out.push({ start: m.index, end: wordEnd, tokens });
    else splitChars(text, m.index, wordEnd, countTokens, maxTokens, out);
  }
}

/** A run without spaces longer than a whole chunk (a hash, base64): cut by characters. */
function splitChars(
  text: string,
  start: number,
  end: number,
  countTokens: CountTokens,
  maxTokens: number,
  out: Unit[],
) {
  let at = start;
  while (at < end) {
    let length = Math.max(1, Math.min(end - at, maxTokens));
    let tokens = countTokens(text.slice(at, at + length));
    while (tokens > maxTokens && length > 1) {
      length = Math.max(1, Math.floor(length * 0.8));
      tokens = countTokens(text.slice(at, at + length));
    }
    out.push({ start: at, end: at + length, tokens });
    at += length;
  }
}

/** Longest stretch handed to Intl.Segmenter at once (see windows()). */
const WINDOW_CHARS = 4096;

/**
 * Cuts text into stretches of at most WINDOW_CHARS, at a line break or else a space where possible.
 * V8 gives every segment object its own copy of the whole input, so segmenting a 1 MB string at once
 * allocates gigabytes; segmenting windows keeps that bounded. A sentence cut by a window edge becomes
 * two units, which the packing joins again unless a chunk ends there.
 */
function windows(text: string): [number, number][] {
  const out: [number, number][] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + WINDOW_CHARS);
    if (end < text.length) {
      const newline = text.lastIndexOf("\n", end - 1);
      const space = text.lastIndexOf(" ", end - 1);
      if (newline > at + WINDOW_CHARS / 4) end = newline + 1;
      else if (space > at + WINDOW_CHARS / 4) end = space + 1;
    }
    out.push([at, end]);
    at = end;
  }
  return out;
}

function newlineOffsets(text: string): number[] {
  const offsets: number[] = [];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) offsets.push(i);
  return offsets;
}

/** The section's location narrowed to the lines [start, end) covers, when the section has lines. */
function locate(location: Location, newlines: number[] | undefined, start: number, end: number): Location {
  if (!newlines || !location.lines) return location;
  const firstLine = location.lines[0];
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return firstLine + lo;
  };
  const a = lineOf(start);
  const b = lineOf(Math.max(start, end - 1));
  return { ...location, label: a === b ? `line ${a}` : `lines ${a}–${b}`, lines: [a, b] };
}
