/**
 * Whether a passage's own text matches a parsed query, the way the full-text index would decide it
 * (words and phrases in either column, the last word of a term as a prefix, exclusions), for the few
 * passages the meaning side proposes. Asking FTS5 about a handful of given rows costs it as much as
 * the whole index for a prefix or a common word, so for those the text is checked here instead.
 * Tokens follow FTS5's unicode61 tokenizer with remove_diacritics: letters and digits, lower-cased,
 * accents taken off.
 */
import type { ParsedQuery, QueryTerm } from "./query.ts";

interface Token {
  norm: string;
  start: number;
  end: number;
}

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

const normalize = (word: string) => word.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const m of text.matchAll(WORD)) {
    const norm = normalize(m[0]);
    if (norm) tokens.push({ norm, start: m.index, end: m.index + m[0].length });
  }
  return tokens;
}

/** Start positions in `tokens` where `term` matches. */
function occurrences(tokens: Token[], term: QueryTerm): number[] {
  const wanted = term.tokens.map(normalize);
  const last = wanted.length - 1;
  const at: number[] = [];
  for (let i = 0; i + wanted.length <= tokens.length; i++) {
    let ok = true;
    for (let j = 0; j <= last && ok; j++) {
      const token = tokens[i + j].norm;
      ok = j === last && term.prefix ? token.startsWith(wanted[j]) : token === wanted[j];
    }
    if (ok) at.push(i);
  }
  return at;
}

export interface TextMatch {
  /** Character ranges in the text of the matched terms. */
  ranges: [number, number][];
}

/** The match of a passage (text and heading location), or undefined when the query rules it out. */
export function matchText(parsed: ParsedQuery, text: string, location = ""): TextMatch | undefined {
  const body = tokenize(text);
  const heading = tokenize(location);
  for (const term of parsed.excluded) {
    if (occurrences(body, term).length || occurrences(heading, term).length) return undefined;
  }
  const ranges: [number, number][] = [];
  for (const term of parsed.included) {
    const inBody = occurrences(body, term);
    if (!inBody.length && !occurrences(heading, term).length) return undefined;
    for (const i of inBody) ranges.push([body[i].start, body[i + term.tokens.length - 1].end]);
  }
  return { ranges: ranges.sort((a, b) => a[0] - b[0]) };
}

/** A snippet of about `words` words around the first match, whitespace collapsed, with its highlights. */
export function matchSnippet(
  text: string,
  match: TextMatch,
  words: number,
): { snippet: string; highlights: [number, number][] } {
  const spans = [...text.matchAll(/\S+/g)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
  if (!spans.length) return { snippet: "", highlights: [] };
  const first = match.ranges[0]?.[0] ?? 0;
  const centre = Math.max(
    0,
    spans.findIndex((s) => s.end > first),
  );
  const size = Math.max(4, Math.min(64, words));
  const from = Math.max(0, Math.min(centre - Math.floor(size / 4), spans.length - size));
  const to = Math.min(spans.length, from + size);
  let snippet = from > 0 ? "… " : "";
  const placed: number[] = [];
  for (let i = from; i < to; i++) {
    if (i > from) snippet += " ";
    placed.push(snippet.length);
    snippet += text.slice(spans[i].start, spans[i].end);
  }
  // A text position inside span i lands at the same distance from where span i was placed.
  const place = (p: number) => {
    const i = spans.findIndex((s, k) => k >= from && k < to && p >= s.start && p <= s.end);
    return i < 0 ? -1 : placed[i - from] + (p - spans[i].start);
  };
  const highlights: [number, number][] = [];
  for (const [a, b] of match.ranges) {
    const start = place(a);
    const end = place(b);
    if (start >= 0 && end > start) highlights.push([start, end]);
  }
  if (to < spans.length) snippet += " …";
  return { snippet, highlights };
}
