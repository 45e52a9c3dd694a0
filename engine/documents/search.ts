/**
 * Full-text search over the indexed chunks: BM25 ranking (heading words weigh half), snippets with
 * highlight ranges, phrases, prefixes, and filters by folder, type and modification date. The word
 * half of hybrid search (hybrid-search.ts) is built from the same pieces.
 */
import { ElmwoodError } from "../errors.ts";
import { type Db, scalar } from "../store/database.ts";
import { filterSql, type SearchFilters } from "./filters.ts";
import { parseQuery } from "./query.ts";
import "./schema.ts";
import type { DocumentKind } from "./types.ts";

export type { SearchFilters } from "./filters.ts";

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

/** What made a chunk a hit: its words (full-text), its meaning (vectors), or both. */
export type MatchedBy = "words" | "meaning" | "both";

export interface SearchHit {
  chunkId: number;
  path: string;
  kind: DocumentKind | null;
  /** Where in the file: "page 3", "Setup › Linux", "lines 10–42". */
  location: string;
  page: number | null;
  lines: [number, number] | null;
  /** Higher is better: BM25 with the sign flipped (words only), or the fused rank score (hybrid). */
  score: number;
  matched: MatchedBy;
  /** Cosine similarity of the chunk to the query, when it was ranked by meaning. */
  similarity: number | null;
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
   * True when the query matched so much of the index that only part of the word matches were
   * ranked, to answer within a keystroke (while typing) or within the latency budget (hybrid).
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

/** A chunk matched by the full-text index, as the SQL returns it. */
export interface LexicalRow {
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

export interface LexicalQuery {
  match: string;
  filters: SearchFilters;
  limit: number;
  offset: number;
  snippetWords: number;
  /** Only rowids from this one up (FTS5 seeks on it). */
  fromRowid?: number;
  /** Only these chunks. */
  chunkIds?: readonly number[];
  /**
   * "rank" (default): best BM25 first. "newest": the most recently indexed matches first, unranked
   * (rank 0), which FTS5 finds by walking its match lists from the end and stopping at the limit.
   */
  order?: "rank" | "newest";
}

/** The best `limit` full-text matches after `offset`, ranked by BM25, with their snippets. */
export function lexicalRows(db: Db, query: LexicalQuery, original: string): LexicalRow[] {
  const filter = filterSql(query.filters);
  const where = ["doc_chunks_fts MATCH :match", ...filter.where];
  const params: Record<string, unknown> = {
    ...filter.params,
    match: query.match,
    limit: BigInt(query.limit),
    offset: BigInt(query.offset),
  };
  if (query.fromRowid !== undefined) {
    // libsql binds JS numbers as REAL, and FTS5 only seeks on an INTEGER rowid bound: hence BigInt.
    where.push("doc_chunks_fts.rowid >= :from");
    params.from = BigInt(query.fromRowid);
  }
  if (query.chunkIds) {
    if (!query.chunkIds.length) return [];
    where.push("doc_chunks_fts.rowid IN (SELECT value FROM json_each(:ids))");
    params.ids = JSON.stringify(query.chunkIds);
  }
  const words = Math.max(4, Math.min(64, query.snippetWords));
  const ranked = (query.order ?? "rank") === "rank";
  const sql =
    "SELECT c.id AS chunk_id, f.path, f.kind, c.location, c.page, c.line_start, c.line_end, f.mtime_ms, c.text, " +
    `${ranked ? "doc_chunks_fts.rank" : "0"} AS rank, snippet(doc_chunks_fts, 0, '${OPEN}', '${CLOSE}', '…', ${words}) AS snip ` +
    "FROM doc_chunks_fts JOIN doc_chunks c ON c.id = doc_chunks_fts.rowid JOIN doc_files f ON f.id = c.file_id " +
    `WHERE ${where.join(" AND ")} ORDER BY ${ranked ? "rank" : "doc_chunks_fts.rowid DESC"} LIMIT :limit OFFSET :offset`;
  try {
    return db.prepare(sql).all(params) as LexicalRow[];
  } catch (error) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `The search "${original}" could not run (${(error as Error).message}).`,
      "Try plain words, or put an exact phrase in double quotes.",
      { cause: error },
    );
  }
}

export function toHit(row: LexicalRow): SearchHit {
  const { text: snippet, highlights } = parseSnippet(row.snip);
  return {
    chunkId: row.chunk_id,
    path: row.path,
    kind: row.kind,
    location: row.location,
    page: row.page,
    lines: row.line_start === null || row.line_end === null ? null : [row.line_start, row.line_end],
    score: Number((-row.rank).toPrecision(6)),
    matched: "words",
    similarity: null,
    snippet,
    highlights,
    text: row.text,
    modifiedMs: row.mtime_ms,
  };
}

export function searchIndex(db: Db, query: string, options: SearchOptions = {}): SearchResult {
  const started = performance.now();
  const limit = Math.max(1, Math.min(100, Math.floor(options.limit ?? 10)));
  const offset = Math.max(0, Math.floor(options.offset ?? 0));
  const parsed = parseQuery(query, { asYouType: options.asYouType });
  if (!parsed.match)
    return { query, match: "", partial: false, hits: [], tookMs: performance.now() - started };
  const base: LexicalQuery = {
    match: parsed.match,
    filters: options,
    limit,
    offset,
    snippetWords: options.snippetWords ?? 24,
  };
  const cap = options.typingRankCap ?? TYPING_RANK_CAP;
  const cutoff = options.asYouType && offset === 0 ? typingCutoff(db, parsed.match, cap) : undefined;
  let rows = cutoff === undefined ? [] : lexicalRows(db, { ...base, fromRowid: cutoff }, query);
  const partial = cutoff !== undefined && rows.length === limit;
  if (!partial) rows = lexicalRows(db, base, query);
  return { query, match: parsed.match, partial, hits: rows.map(toHit), tookMs: performance.now() - started };
}

/** min(matches, cap + 1): stops walking the match lists once past the cap (a fraction of a millisecond). */
export function boundedMatchCount(db: Db, match: string, cap: number): number {
  try {
    return Number(
      scalar(
        db,
        "SELECT COUNT(*) FROM (SELECT rowid FROM doc_chunks_fts WHERE doc_chunks_fts MATCH ? LIMIT ?)",
        match,
        BigInt(cap + 1),
      ) ?? 0,
    );
  } catch {
    return 0;
  }
}

/** How many chunks match (walking the match lists without scoring: a few ms even for the commonest word). */
export function matchCount(db: Db, match: string): number {
  try {
    return Number(scalar(db, "SELECT COUNT(*) FROM doc_chunks_fts WHERE doc_chunks_fts MATCH ?", match) ?? 0);
  } catch {
    return 0;
  }
}

/** The lowest rowid worth ranking so that about `cap` matches are ranked, or undefined when all fit. */
export function typingCutoff(
  db: Db,
  match: string,
  cap: number,
  count = matchCount(db, match),
): number | undefined {
  if (count <= cap) return undefined;
  const [low, high] = (db.prepare("SELECT MIN(id), MAX(id) FROM doc_chunks").raw().all() as number[][])[0];
  // Matches spread through the index roughly evenly: keep the newest share that holds about the cap.
  return Math.floor(high - ((high - low) * cap) / count);
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
