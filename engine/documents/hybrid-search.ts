/**
 * Search by words and by meaning together. The full-text index (BM25) and the vector index each
 * propose their best candidates under the same filters; reciprocal rank fusion (Cormack et al., 2009:
 * score = sum over the lists of 1 / (60 + rank)) merges the two orders without having to put a BM25
 * score and a cosine similarity on one scale. Each hit says which side found it.
 *
 * Bounded work per query: BM25 costs about two microseconds per matching chunk, so a word found in
 * nearly every chunk of a 100,000-chunk index took 200 ms to rank in full. A query that matches more
 * than `rankCap` chunks is one whose words say little about which chunk is meant; its word matches
 * are then ranked among the meaning candidates and the newest `rankCap` matches only (the result says
 * `partial`), so no query ranks more than a few thousand chunks.
 */
import type { Db } from "../store/database.ts";
import type { SearchFilters } from "./filters.ts";
import { parseQuery } from "./query.ts";
import {
  type LexicalQuery,
  type LexicalRow,
  lexicalRows,
  matchCount,
  type SearchHit,
  type SearchOptions,
  type SearchResult,
  toHit,
  typingCutoff,
} from "./search.ts";
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
  /** Word matches ranked in full up to this many (default 5,000). */
  rankCap?: number;
}

export interface HybridResult extends SearchResult {
  /** "hybrid" when the meaning side took part, "words" when only the full-text index did. */
  mode: "hybrid" | "words";
}

/** Cormack, Clarke and Büttcher's constant: it damps the weight of the very first ranks. */
export const RRF_K = 60;
const RANK_CAP = 5_000;

interface Candidate {
  id: number;
  lexical?: LexicalRow;
  /** Set when the meaning side proposed it. */
  similarity?: number;
}

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
  const parsed = parseQuery(query, { asYouType: options.asYouType });
  const filters: SearchFilters = {
    folders: options.folders,
    kinds: options.kinds,
    modifiedAfter: options.modifiedAfter,
    modifiedBefore: options.modifiedBefore,
  };
  const empty = (mode: HybridResult["mode"]): HybridResult => ({
    query,
    match: parsed.match ?? "",
    partial: false,
    hits: [],
    tookMs: performance.now() - started,
    mode,
  });
  if (!parsed.match) return empty("words");

  // Meaning: the typed words without search syntax; quoted phrases alone ask for exact words.
  const useMeaning = meaning !== undefined && !parsed.exact && meaning.store.space() !== undefined;
  let neighbours: { chunkId: number; similarity: number }[] = [];
  if (useMeaning) {
    const vector = await meaning.embedQuery(parsed.terms.join(" "));
    const minSimilarity = options.minSimilarity ?? 0.2;
    neighbours = meaning.store
      .nearest(vector, want, filters)
      .map((n) => ({ chunkId: n.chunkId, similarity: 1 - n.distance }))
      .filter((n) => n.similarity >= minSimilarity);
    if (parsed.exclude && neighbours.length) {
      const excluded = new Set(
        lexicalRows(
          db,
          {
            match: parsed.exclude,
            filters: {},
            limit: neighbours.length,
            offset: 0,
            snippetWords: 4,
            chunkIds: neighbours.map((n) => n.chunkId),
          },
          query,
        ).map((r) => r.chunk_id),
      );
      neighbours = neighbours.filter((n) => !excluded.has(n.chunkId));
    }
  }

  // Words: ranked in full when the query is selective, otherwise within a bounded set.
  const base: LexicalQuery = {
    match: parsed.match,
    filters,
    limit: want,
    offset: 0,
    snippetWords: options.snippetWords ?? 24,
  };
  const cap = Math.min(
    options.rankCap ?? RANK_CAP,
    options.asYouType ? (options.typingRankCap ?? RANK_CAP) : Infinity,
  );
  const count = matchCount(db, parsed.match);
  let partial = false;
  let lexical: LexicalRow[];
  if (count <= cap) {
    lexical = lexicalRows(db, base, query);
  } else {
    partial = true;
    const newest = lexicalRows(db, { ...base, fromRowid: typingCutoff(db, parsed.match, cap, count) }, query);
    const amongMeaning = neighbours.length
      ? lexicalRows(db, { ...base, chunkIds: neighbours.map((n) => n.chunkId) }, query)
      : [];
    const seen = new Set<number>();
    lexical = [];
    for (const row of [...amongMeaning, ...newest].sort((a, b) => a.rank - b.rank)) {
      if (seen.has(row.chunk_id)) continue;
      seen.add(row.chunk_id);
      lexical.push(row);
    }
    lexical = lexical.slice(0, want);
  }

  const candidates = new Map<number, Candidate>();
  for (const row of lexical) candidates.set(row.chunk_id, { id: row.chunk_id, lexical: row });
  for (const n of neighbours) {
    const known = candidates.get(n.chunkId) ?? { id: n.chunkId };
    candidates.set(n.chunkId, { ...known, similarity: n.similarity });
  }
  const fused = fuseRankings([lexical.map((r) => r.chunk_id), neighbours.map((n) => n.chunkId)]);
  const page = fused.slice(offset, offset + limit);
  const details = chunkDetails(
    db,
    page.filter((p) => !candidates.get(p.id)?.lexical).map((p) => p.id),
  );
  const hits: SearchHit[] = [];
  for (const { id, score } of page) {
    const candidate = candidates.get(id) as Candidate;
    const similarity = candidate.similarity === undefined ? null : Number(candidate.similarity.toFixed(4));
    const scored = { score: Number((score * 1000).toPrecision(6)), similarity };
    if (candidate.lexical) {
      hits.push({
        ...toHit(candidate.lexical),
        // By words alone the BM25 score says more than a fused rank would.
        ...(useMeaning ? scored : {}),
        matched: candidate.similarity === undefined ? "words" : "both",
      });
      continue;
    }
    const row = details.get(id);
    if (!row) continue; // removed between the two queries
    const { snippet, highlights } = leadingSnippet(row.text, parsed.terms, options.snippetWords ?? 24);
    hits.push({
      chunkId: id,
      path: row.path,
      kind: row.kind,
      location: row.location,
      page: row.page,
      lines: row.line_start === null || row.line_end === null ? null : [row.line_start, row.line_end],
      ...scored,
      matched: "meaning",
      snippet,
      highlights,
      text: row.text,
      modifiedMs: row.mtime_ms,
    });
  }
  return {
    query,
    match: parsed.match,
    partial,
    hits,
    tookMs: performance.now() - started,
    mode: useMeaning ? "hybrid" : "words",
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
