/**
 * Search filters as SQL over `doc_files f`, with named parameters (libsql binds a blob only by name,
 * and the vector queries bind one), shared by the word and the meaning search so both honour the
 * same filters the same way.
 */
import { belowRange } from "./index-store.ts";
import type { DocumentKind } from "./types.ts";

export interface SearchFilters {
  /** Only files under these folders, or these files themselves (an attached file, a folder below an added one). */
  folders?: string[];
  kinds?: DocumentKind[];
  /** Modification time bounds, ms since the epoch (inclusive). */
  modifiedAfter?: number;
  modifiedBefore?: number;
}

export interface FilterSql {
  /** Conditions to AND together; empty when nothing is filtered. */
  where: string[];
  params: Record<string, unknown>;
}

export function hasFilters(filters: SearchFilters): boolean {
  return Boolean(
    filters.folders?.length ||
      filters.kinds?.length ||
      filters.modifiedAfter !== undefined ||
      filters.modifiedBefore !== undefined,
  );
}

export function filterSql(filters: SearchFilters): FilterSql {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (filters.folders?.length) {
    const alternatives = filters.folders.map((folder, i) => {
      const [lo, hi] = belowRange(folder);
      params[`folder${i}`] = folder;
      params[`folder${i}_lo`] = lo;
      params[`folder${i}_hi`] = hi;
      return `(f.path = :folder${i} OR (f.path >= :folder${i}_lo AND f.path < :folder${i}_hi))`;
    });
    where.push(`(${alternatives.join(" OR ")})`);
  }
  if (filters.kinds?.length) {
    where.push(`f.kind IN (${filters.kinds.map((_, i) => `:kind${i}`).join(", ")})`);
    filters.kinds.forEach((kind, i) => {
      params[`kind${i}`] = kind;
    });
  }
  if (filters.modifiedAfter !== undefined) {
    where.push("f.mtime_ms >= :after");
    params.after = filters.modifiedAfter;
  }
  if (filters.modifiedBefore !== undefined) {
    where.push("f.mtime_ms <= :before");
    params.before = filters.modifiedBefore;
  }
  return { where, params };
}
