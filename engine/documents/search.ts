/**
 * Full-text search over the indexed chunks: BM25 ranking (heading words weigh half), snippets with
 * highlight ranges, phrases, prefixes, and filters by folder, type and modification date.
 */
import { ElmwoodError } from "../errors.ts";
import { type Db, scalar } from "../store/database.ts";
import { belowRange } from "./index-store.ts";
import { parseQuery } from "./query.ts";
import "./schema.ts";
import type { DocumentKind } from "./types.ts";

export interface SearchFilters {
  /** Only files under these folders (any folder, added or below one). */
  folders?: string[];
  kinds?: DocumentKind[];
  /** Modification time bounds, ms since the epoch (inclusive). */
  modifiedAfter?: number;
  modifiedBefore?: number;
}

export interface SearchOptions extends SearchFilters {
  /** Default 10, at most 100. */
  limit?: number;
  offset?: number;
  /** The query is still being typed: its last word also matches as a prefix. */
  asYouType?: boolean;
  /** Words around the match in the snippet; default 24. */
  snippetWords?: number;
  /** While typing, rank only the newest matches above this many (default 10,000; for tuning and tests). */
  typingRankCap?: number;
}

export interface SearchHit {
  chunkId: number;
  path: string;
  kind: DocumentKind | null;
  /** Where in the file: "page 3", "Setup › Linux", "lines 10–42". */
  location: string;
  page: number | null;
  lines: [number, number] | null;
  /** Higher is better (BM25, sign flipped). */
  score: number;
  /** A passage around the match, with "…" where it was cut. */
  snippet: string;
  /** [start, end) character ranges in `snippet` of the matched words. */
  highlights: [number, number][];
  /** The whole chunk, for grounded answers. */
  text: string;
  modifiedMs: number;
}

export interface SearchResult {
  query: string;
  /**
   * True when, while typing, the query matched so much of the index that only the most recently
   * indexed matches were ranked (to answer within a keystroke); the full query ranks everything.
   */
  partial: boolean;
  /** The FTS5 expression that ran, for debugging; empty when there was nothing to search for. */
  match: string;
  hits: SearchHit[];
  tookMs: number;
}

/**
 * BM25 costs about a microsecond per matching chunk, so a two-letter prefix that matches most of a
 * 100,000-chunk index would take ~100 ms to rank. While typing, a query matching more than this many
 * chunks is ranked over the newest matches only (rowids are assigned in indexing order).
 */
const TYPING_RANK_CAP = 10_000;

const OPEN = "\u0002";
const CLOSE = "\u0003";
/** The marks snippet() and highlight() put around matched words, which parseSnippet reads. */
export const SNIPPET_MARKS = { open: OPEN, close: CLOSE } as const;

interface Row {
  chunk_id: number;
  path: string;
  kind: DocumentKind | null;
  location: string;
  page: number | null;
  line_start: number | null;
  line_end: number | null;
  rank: number;
  snip: string;
  text: string;
  mtime_ms: number;
}

export function searchIndex(db: Db, query: string, options: SearchOptions = {}): SearchResult {
  const started = performance.now();
  const limit = Math.max(1, Math.min(100, Math.floor(options.limit ?? 10)));
  const offset = Math.max(0, Math.floor(options.offset ?? 0));
  const parsed = parseQuery(query, { asYouType: options.asYouType });
  if (!parsed.match)
    return { query, match: "", partial: false, hits: [], tookMs: performance.now() - started };

  const where: string[] = ["doc_chunks_fts MATCH ?"];
  const params: unknown[] = [parsed.match];
  if (options.folders?.length) {
    where.push(`(${options.folders.map(() => "(f.path >= ? AND f.path < ?)").join(" OR ")})`);
    for (const folder of options.folders) params.push(...belowRange(folder));
  }
  if (options.kinds?.length) {
    where.push(`f.kind IN (${options.kinds.map(() => "?").join(", ")})`);
    params.push(...options.kinds);
  }
  if (options.modifiedAfter !== undefined) {
    where.push("f.mtime_ms >= ?");
    params.push(options.modifiedAfter);
  }
  if (options.modifiedBefore !== undefined) {
    where.push("f.mtime_ms <= ?");
    params.push(options.modifiedBefore);
  }
  const words = Math.max(4, Math.min(64, options.snippetWords ?? 24));
  const run = (extra: string, extraParams: unknown[]): Row[] => {
    const sql =
      `SELECT c.id AS chunk_id, f.path, f.kind, c.location, c.page, c.line_start, c.line_end, f.mtime_ms, c.text, ` +
      `doc_chunks_fts.rank AS rank, snippet(doc_chunks_fts, 0, '${OPEN}', '${CLOSE}', '…', ${words}) AS snip ` +
      "FROM doc_chunks_fts JOIN doc_chunks c ON c.id = doc_chunks_fts.rowid JOIN doc_files f ON f.id = c.file_id " +
      `WHERE ${[...where, ...(extra ? [extra] : [])].join(" AND ")} ORDER BY rank LIMIT ? OFFSET ?`;
    try {
      return db.prepare(sql).all(...params, ...extraParams, limit, offset) as Row[];
    } catch (error) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `The search "${query}" could not run (${(error as Error).message}).`,
        "Try plain words, or put an exact phrase in double quotes.",
        { cause: error },
      );
    }
  };
  const cap = options.typingRankCap ?? TYPING_RANK_CAP;
  const cutoff = options.asYouType && offset === 0 ? typingCutoff(db, parsed.match, cap) : undefined;
  // libsql binds JS numbers as REAL, and FTS5 only seeks on an INTEGER rowid bound: hence BigInt.
  let rows = cutoff === undefined ? [] : run("doc_chunks_fts.rowid >= ?", [BigInt(cutoff)]);
  const partial = cutoff !== undefined && rows.length === limit;
  if (!partial) rows = run("", []);
  const hits = rows.map((row): SearchHit => {
    const { text: snippet, highlights } = parseSnippet(row.snip);
    return {
      chunkId: row.chunk_id,
      path: row.path,
      kind: row.kind,
      location: row.location,
      page: row.page,
      lines: row.line_start === null || row.line_end === null ? null : [row.line_start, row.line_end],
      score: Number((-row.rank).toPrecision(6)),
      snippet,
      highlights,
      text: row.text,
      modifiedMs: row.mtime_ms,
    };
  });
  return { query, match: parsed.match, partial, hits, tookMs: performance.now() - started };
}

/** The lowest rowid worth ranking while typing, or undefined when the query matches few enough chunks. */
function typingCutoff(db: Db, match: string, cap: number): number | undefined {
  try {
    // Counting walks the match lists without scoring: a few milliseconds even for the commonest word.
    const count = Number(
      scalar(db, "SELECT COUNT(*) FROM doc_chunks_fts WHERE doc_chunks_fts MATCH ?", match) ?? 0,
    );
    if (count <= cap) return undefined;
    const [low, high] = (db.prepare("SELECT MIN(id), MAX(id) FROM doc_chunks").raw().all() as number[][])[0];
    // Matches spread through the index roughly evenly: keep the newest share that holds about the cap.
    return Math.floor(high - ((high - low) * cap) / count);
  } catch {
    return undefined;
  }
}

/** Splits FTS5's marked-up snippet into plain text and the ranges that were marked. */
export function parseSnippet(marked: string): { text: string; highlights: [number, number][] } {
  let text = "";
  const highlights: [number, number][] = [];
  let open = -1;
  for (const ch of marked) {
    if (ch === OPEN) open = text.length;
    else if (ch === CLOSE) {
      if (open >= 0 && text.length > open) highlights.push([open, text.length]);
      open = -1;
    } else text += ch;
  }
  // Neighbouring highlighted words read as one highlight.
  const merged: [number, number][] = [];
  for (const range of highlights) {
    const last = merged[merged.length - 1];
    if (last && /^\s*$/.test(text.slice(last[1], range[0]))) last[1] = range[1];
    else merged.push([...range]);
  }
  return { text: collapse(text, merged), highlights: merged };
}

/** Collapses runs of whitespace (newlines from the chunk) to single spaces, moving the ranges with them. */
function collapse(text: string, ranges: [number, number][]): string {
  const map: number[] = [];
  let out = "";
  for (let i = 0; i < text.length; i++) {
    map.push(out.length);
    if (/\s/.test(text[i])) {
      if (!out.endsWith(" ")) out += " ";
    } else out += text[i];
  }
  map.push(out.length);
  for (const range of ranges) {
    range[0] = map[range[0]];
    range[1] = map[range[1]];
  }
  return out;
}

/** Marks highlights for a terminal: the matched words between [ and ] (or in bold with ANSI). */
export function renderHighlights(snippet: string, highlights: [number, number][], ansi = false): string {
  let out = "";
  let at = 0;
  for (const [start, end] of highlights) {
    out += snippet.slice(at, start);
    out += ansi ? `\u001b[1m${snippet.slice(start, end)}\u001b[22m` : `[${snippet.slice(start, end)}]`;
    at = end;
  }
  return out + snippet.slice(at);
}
