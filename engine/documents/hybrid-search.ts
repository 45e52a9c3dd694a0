/**
 * Search by words and by meaning together. The full-text index (BM25) and the vector index each
 * propose their best candidates under the same filters; reciprocal rank fusion (Cormack et al., 2009:
 * score = sum over the lists of 1 / (60 + rank)) merges the two orders without having to put a BM25
 * score and a cosine similarity on one scale. Each hit says which side found it.
 *
 * Bounded work per query: BM25 costs about two microseconds per matching chunk, so a word found in
 * nearly every chunk of a 100,000-chunk index took 200 ms to rank in full. A query that matches more
 * than `rankCap` chunks is one whose words say little about which chunk is meant. Its word side is
 * then the meaning candidates that contain the words, in the meaning's order (checked on their text,
 * text-match.ts), or the newest matches when nothing is near in meaning; by words alone, the newest
 * `rankCap` matches ranked. Either way the result says `partial`, and no query ranks more than a
 * couple of thousand chunks.
 */
import type { Db } from "../store/database.ts";
import type { SearchFilters } from "./filters.ts";
import { parseQuery } from "./query.ts";
import {
  boundedMatchCount,
  type LexicalQuery,
  lexicalRows,
  type SearchHit,
  type SearchOptions,
  type SearchResult,
  toHit,
} from "./search.ts";
import { matchSnippet, matchText } from "./text-match.ts";
import type { DocumentKind } from "./types.ts";
import type { VectorStore } from "./vectors/vector-store.ts";

export interface MeaningIndex {
  store: VectorStore;
  /** The query's vector from the same model the chunks were embedded with. */
  embedQuery(text: string): Promise<Float32Array>;
}

export interface HybridOptions extends SearchOptions {
  /** Candidates each side proposes before fusion (default 50; at least offset + limit). */
  candidates?: number;
  /** Meaning candidates less similar than this (cosine) are left out; default 0.2. */
  minSimilarity?: number;
  /** Word matches ranked in full up to this many (default 1,000 beside meaning, 2,000 by words alone). */
  rankCap?: number;
}

export interface HybridResult extends SearchResult {
  /** "hybrid" when the meaning side took part, "words" when only the full-text index did. */
  mode: "hybrid" | "words";
}

/** Cormack, Clarke and Büttcher's constant: it damps the weight of the very first ranks. */
export const RRF_K = 60;
/**
 * Word matches ranked in full beside the meaning side. Ranking costs about 8 µs per match here (BM25
 * and the snippet of each, before the sort), so this bounds it near 8 ms.
 */
const RANK_CAP = 1_000;
/** Word matches ranked when search goes by words alone: the newest this many of an unselective query. */
const WORDS_RANK_CAP = 2_000;

/** Reciprocal rank fusion of two rankings (ids best first); returns ids with their fused scores, best first. */
export function fuseRankings(
  lists: readonly (readonly number[])[],
  k = RRF_K,
): { id: number; score: number }[] {
  const scores = new Map<number, number>();
  for (const list of lists) {
    list.forEach((id, i) => {
      scores.set(id, (scores.get(id) ?? 0) + 1 / (k + i + 1));
    });
  }
  return [...scores].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score || a.id - b.id);
}

export async function hybridSearch(
  db: Db,
  query: string,
  options: HybridOptions = {},
  meaning?: MeaningIndex,
): Promise<HybridResult> {
  const started = performance.now();
  const limit = Math.max(1, Math.min(100, Math.floor(options.limit ?? 10)));
  const offset = Math.max(0, Math.floor(options.offset ?? 0));
  const want = Math.max(options.candidates ?? 50, offset + limit);
  const words = options.snippetWords ?? 24;
  const parsed = parseQuery(query, { asYouType: options.asYouType });
  const filters: SearchFilters = {
    folders: options.folders,
    kinds: options.kinds,
    modifiedAfter: options.modifiedAfter,
    modifiedBefore: options.modifiedBefore,
  };
  const meaningIndexed = meaning !== undefined && meaning.store.space() !== undefined;
  const useMeaning = meaningIndexed && !parsed.exact;
  const mode: HybridResult["mode"] = useMeaning ? "hybrid" : "words";
  if (!parsed.match) {
    return { query, match: "", partial: false, hits: [], tookMs: performance.now() - started, mode };
  }

  // Meaning: the typed words without search syntax; quoted phrases alone ask for exact words.
  let neighbours: { chunkId: number; similarity: number }[] = [];
  let details = new Map<number, ChunkRow>();
  if (useMeaning) {
    const vector = await meaning.embedQuery(parsed.terms.join(" "));
    const minSimilarity = options.minSimilarity ?? 0.2;
    neighbours = meaning.store
      .nearest(vector, want, filters)
      .map((n) => ({ chunkId: n.chunkId, similarity: 1 - n.distance }))
      .filter((n) => n.similarity >= minSimilarity);
    details = chunkDetails(
      db,
      neighbours.map((n) => n.chunkId),
    );
    const exclusions = { ...parsed, included: [] };
    neighbours = neighbours.filter((n) => {
      const row = details.get(n.chunkId);
      return row !== undefined && matchText(exclusions, row.text, row.location) !== undefined;
    });
  }

  // Words: ranked in full when the query is selective; otherwise the meaning candidates that contain
  // the words are the word side, in the meaning's order, or (by words alone) the newest matches.
  const base: LexicalQuery = { match: parsed.match, filters, limit: want, offset: 0, snippetWords: words };
  let cap = options.rankCap ?? (meaningIndexed ? RANK_CAP : WORDS_RANK_CAP);
  if (options.asYouType) cap = Math.min(cap, options.typingRankCap ?? cap);
  let partial = false;
  let byWords: SearchHit[];
  if (boundedMatchCount(db, parsed.match, cap) <= cap) {
    byWords = lexicalRows(db, base, query).map(toHit);
  } else if (neighbours.length) {
    partial = true;
    byWords = neighbours.flatMap((n) => {
      const row = details.get(n.chunkId) as ChunkRow;
      const found = matchText(parsed, row.text, row.location);
      return found ? [toChunkHit(row, matchSnippet(row.text, found, words), "words")] : [];
    });
  } else if (meaningIndexed) {
    // Nothing is near in meaning (a half-typed word, an exact phrase): the newest matches, which cost
    // nothing to find.
    partial = true;
    byWords = lexicalRows(db, { ...base, order: "newest" }, query).map(toHit);
  } else {
    partial = true;
    const newest = newestMatch(db, parsed.match, cap);
    byWords = lexicalRows(db, { ...base, fromRowid: newest }, query).map(toHit);
  }

  const fromWords = new Map(byWords.map((h) => [h.chunkId, h]));
  const similarity = new Map(neighbours.map((n) => [n.chunkId, n.similarity]));
  const fused = fuseRankings([byWords.map((h) => h.chunkId), neighbours.map((n) => n.chunkId)]);
  const hits: SearchHit[] = [];
  for (const { id, score } of fused.slice(offset, offset + limit)) {
    const close = similarity.get(id);
    const scored = {
      score: Number((score * 1000).toPrecision(6)),
      similarity: close === undefined ? null : Number(close.toFixed(4)),
    };
    const wordHit = fromWords.get(id);
    if (wordHit) {
      // By words alone the BM25 score says more than a fused rank would.
      hits.push({
        ...wordHit,
        ...(useMeaning ? scored : {}),
        matched: close === undefined ? "words" : "both",
      });
      continue;
    }
    const row = details.get(id) as ChunkRow;
    hits.push({ ...toChunkHit(row, leadingSnippet(row.text, parsed.terms, words), "meaning"), ...scored });
  }
  return { query, match: parsed.match, partial, hits, tookMs: performance.now() - started, mode };
}

/** The rowid of the `cap`-th newest match: FTS5 walks its match lists newest first and stops there. */
function newestMatch(db: Db, match: string, cap: number): number {
  const rows = db
    .prepare(
      "SELECT rowid FROM doc_chunks_fts WHERE doc_chunks_fts MATCH :match ORDER BY rowid DESC LIMIT 1 OFFSET :skip",
    )
    .raw()
    .all({ match, skip: BigInt(cap - 1) }) as number[][];
  return rows[0]?.[0] ?? 0;
}

function toChunkHit(
  row: ChunkRow,
  { snippet, highlights }: { snippet: string; highlights: [number, number][] },
  matched: SearchHit["matched"],
): SearchHit {
  return {
    chunkId: row.id,
    path: row.path,
    kind: row.kind,
    location: row.location,
    page: row.page,
    lines: row.line_start === null || row.line_end === null ? null : [row.line_start, row.line_end],
    score: 0,
    matched,
    similarity: null,
    snippet,
    highlights,
    text: row.text,
    modifiedMs: row.mtime_ms,
  };
}

interface ChunkRow {
  id: number;
  path: string;
  kind: DocumentKind | null;
  location: string;
  page: number | null;
  line_start: number | null;
  line_end: number | null;
  text: string;
  mtime_ms: number;
}

function chunkDetails(db: Db, ids: number[]): Map<number, ChunkRow> {
  if (!ids.length) return new Map();
  const rows = db
    .prepare(
      "SELECT c.id, f.path, f.kind, c.location, c.page, c.line_start, c.line_end, c.text, f.mtime_ms " +
        "FROM doc_chunks c JOIN doc_files f ON f.id = c.file_id WHERE c.id IN (SELECT value FROM json_each(:ids))",
    )
    .all({ ids: JSON.stringify(ids) }) as ChunkRow[];
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * A snippet for a chunk found by meaning: its opening words (the words of the query, where they
 * appear, highlighted), whitespace collapsed, "…" where it was cut.
 */
export function leadingSnippet(
  text: string,
  terms: readonly string[],
  words: number,
): { snippet: string; highlights: [number, number][] } {
  const all = text.split(/\s+/).filter(Boolean);
  const kept = all.slice(0, Math.max(4, Math.min(64, words)));
  const snippet = kept.join(" ") + (kept.length < all.length ? " …" : "");
  const wanted = new Set(terms.flatMap((t) => t.toLowerCase().split(/\s+/)).filter(Boolean));
  const highlights: [number, number][] = [];
  if (wanted.size) {
    for (const match of snippet.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
      if (wanted.has(match[0].toLowerCase())) highlights.push([match.index, match.index + match[0].length]);
    }
  }
  return { snippet, highlights };
}
