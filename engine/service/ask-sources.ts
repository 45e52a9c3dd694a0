/**
 * The passages a grounded answer rests on. With a search query (the results on screen) that search
 * is used as it is. A bare question is searched as typed first; since every word of a search must
 * match and a question's words ("when", "does") rarely all appear in one passage, it then falls back
 * to its longer words one at a time (as prefixes, so "flower" finds "flowers"), ranking passages by
 * their summed scores so those matching more of the question come first.
 */
import { hybridSearch, type MeaningIndex } from "../documents/hybrid-search.ts";
import { type SearchFilters, type SearchHit, searchIndex } from "../documents/search.ts";
import type { Db } from "../store/database.ts";

const COMMON = new Set(
  "about after also been before being could does from have into just like made make many more most much must only other over said same should some such than that their them then there these they this those through under very was were what when where which while will with would your".split(
    " ",
  ),
);

export function questionWords(question: string): string[] {
  const words = (question.toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) ?? []).filter((w) => !COMMON.has(w));
  return [...new Set(words)].slice(0, 8);
}

export function groundingHits(
  db: Db,
  question: string,
  query: string | undefined,
  options: SearchFilters & { limit: number },
): SearchHit[] {
  if (query) return searchIndex(db, query, options).hits;
  const whole = searchIndex(db, question, options).hits;
  if (whole.length > 0) return whole;
  const best = new Map<number, SearchHit>();
  for (const word of questionWords(question)) {
    for (const hit of searchIndex(db, `${word}*`, options).hits) {
      const seen = best.get(hit.chunkId);
      best.set(hit.chunkId, seen ? { ...seen, score: seen.score + hit.score } : hit);
    }
  }
  return [...best.values()].sort((a, b) => b.score - a.score).slice(0, options.limit);
}

/**
 * The passages for a question: by meaning and words together when the meaning index is there (a
 * question's meaning finds passages that share few of its words), then the word-by-word fallback
 * above for whatever places are left, without repeating a passage.
 */
export async function groundingPassages(
  db: Db,
  question: string,
  query: string | undefined,
  options: SearchFilters & { limit: number },
  meaning: MeaningIndex | undefined,
): Promise<SearchHit[]> {
  if (query) return (await hybridSearch(db, query, options, meaning)).hits;
  const found = meaning ? (await hybridSearch(db, question, options, meaning)).hits : [];
  if (found.length >= options.limit) return found;
  const seen = new Set(found.map((h) => h.chunkId));
  for (const hit of groundingHits(db, question, undefined, options)) {
    if (found.length >= options.limit) break;
    if (!seen.has(hit.chunkId)) {
      seen.add(hit.chunkId);
      found.push(hit);
    }
  }
  return found;
}
