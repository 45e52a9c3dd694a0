/** Shared set-up for the index tests: a database in a temp folder and an indexer over it. */
import { join } from "node:path";
import { DocumentIndexer, type IndexEvent, type IndexerOptions } from "../../engine/documents/indexer.ts";
import { DEFAULT_PREPARE_OPTIONS } from "../../engine/documents/prepare.ts";
import { inlinePreparer } from "../../engine/documents/prepare-pool.ts";
import { llamaTokenCounter } from "../../engine/documents/tokens.ts";
import { type Db, openDatabase } from "../../engine/store/database.ts";

export function openTestIndex(
  home: string,
  options: IndexerOptions = {},
): { db: Db; indexer: DocumentIndexer } {
  const db = openDatabase(join(home, "elmwood.db"));
  const prepare = { ...DEFAULT_PREPARE_OPTIONS, ...options.prepare };
  const indexer = new DocumentIndexer(db, {
    preparer: inlinePreparer(prepare, llamaTokenCounter()),
    ...options,
  });
  return { db, indexer };
}

/** Resolves with the first event that matches, from now on. */
export function nextEvent(
  indexer: DocumentIndexer,
  matches: (event: IndexEvent) => boolean,
): Promise<IndexEvent> {
  return new Promise((resolve) => {
    const off = indexer.on((event) => {
      if (matches(event)) {
        off();
        resolve(event);
      }
    });
  });
}

/** Resolves when every listed path has produced a file event with the expected outcome. */
export function fileEvents(indexer: DocumentIndexer, expected: Record<string, string>): Promise<void> {
  const waiting = new Map(Object.entries(expected));
  return new Promise((resolve) => {
    const off = indexer.on((event) => {
      if (event.type === "file" && waiting.get(event.path) === event.outcome) waiting.delete(event.path);
      if (waiting.size === 0) {
        off();
        resolve();
      }
    });
  });
}

/**
 * Throws unless the index is internally consistent: the FTS index matches the chunk rows exactly, and
 * every indexed file holds the chunks its row counts (no half-written file).
 */
export function assertIndexConsistent(db: Db): void {
  db.prepare("INSERT INTO doc_chunks_fts (doc_chunks_fts, rank) VALUES ('integrity-check', 1)").run();
  const mismatched = db
    .prepare(
      "SELECT f.path FROM doc_files f LEFT JOIN doc_chunks c ON c.file_id = f.id GROUP BY f.id " +
        "HAVING COUNT(c.id) != f.chunk_count OR (f.status = 'indexed' AND f.chunk_count = 0)",
    )
    .all();
  if (mismatched.length)
    throw new Error(`files whose chunks do not match their row: ${JSON.stringify(mismatched)}`);
}
