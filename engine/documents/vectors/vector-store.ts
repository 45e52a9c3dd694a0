/**
 * Chunk vectors in the profile database: one row per chunk in libsql's F32_BLOB column, deleted with
 * the chunk by ON DELETE CASCADE, so a file written, rewritten or forgotten in one transaction takes
 * its vectors along in the same one. The table is made for one embedding model at a time (its width
 * is part of the column type); when the model changes the old vectors are dropped, since vectors of
 * two models cannot be compared.
 *
 * Nearest neighbours come in two passes: the sign bits of every vector (kept in the row and, per
 * process, in memory: sign-codes.ts) give a few hundred candidates in milliseconds, which libsql's
 * vector_distance_cos then ranks exactly. libsql's own ANN index (DiskANN) was measured first on this
 * machine (2 cores, 384-d clustered vectors, libsql 0.5.29): at its defaults it stored 18 KB per
 * vector and inserted 41 per second; the best setting found (neighbours compressed to one bit, 48 of
 * them, search_l 80, insert_l 40) held 100,000 vectors in 675 MB, inserted 154 per second, answered
 * in 3.3 ms (p50) / 16 ms (p95) and found 62% of the exact top 10 in its top 50. The two passes here
 * keep 1.6 KB per vector and insert as fast as SQLite writes rows; on the same kind of vectors,
 * rescoring the 500 nearest codes found all of the exact top 10 (the 200 nearest: 91%).
 */
import { ElmwoodError } from "../../errors.ts";
import { type Db, firstRow, type Statement, scalar } from "../../store/database.ts";
import { filterSql, hasFilters, type SearchFilters } from "../filters.ts";
import "../schema.ts";
import { codeBytes, codeFromBytes, codeWords, SignCodeIndex, signCode } from "./sign-codes.ts";

export interface VectorSpace {
  /** The embedding model the vectors come from, e.g. "sentence-transformers/all-MiniLM-L6-v2@<commit>". */
  model: string;
  dims: number;
}

export interface PendingChunk {
  id: number;
  text: string;
}

export interface Neighbour {
  chunkId: number;
  /** Cosine distance, 0 (same direction) to 2. */
  distance: number;
}

/** Candidates the first pass hands to the exact ranking (at least; more when more hits are wanted). */
const FIRST_PASS = 500;
/** Changes kept in the log for other processes to catch up with; one further behind reloads. */
const LOG_KEPT = 100_000;

/** A blob as libsql returns it (an ArrayBuffer) or as we hold it (a view), as bytes. */
type Blob = ArrayBuffer | Uint8Array;
const bytesOf = (blob: Blob) => (blob instanceof Uint8Array ? blob : new Uint8Array(blob));
const asBlob = (blob: Blob) => {
  const bytes = bytesOf(blob);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};
const vectorBlob = (v: Float32Array) => asBlob(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

export function vectorTableExists(db: Db): boolean {
  return scalar(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'doc_vectors'") === 1;
}

/** Each connection's first-pass index and how far into the change log it has read. */
interface Memory {
  generation: number;
  seq: number;
  index: SignCodeIndex;
}
const memories = new WeakMap<Db, Memory>();

export class VectorStore {
  readonly #statements = new Map<string, Statement>();

  constructor(readonly db: Db) {}

  /** The vector space the index holds, if any. */
  space(): VectorSpace | undefined {
    const row = this.#spaceRow();
    return row ? { model: row.model, dims: row.dims } : undefined;
  }

  /**
   * Makes `space` the index's: creates the vector table for it, or, when vectors of another model
   * are there, drops them first (every chunk is then embedded again). Returns true when it changed.
   */
  use(space: VectorSpace): boolean {
    if (!Number.isInteger(space.dims) || space.dims < 1 || space.dims > 8192)
      throw new ElmwoodError("INTERNAL", `An embedding width of ${space.dims} cannot be stored.`);
    const current = this.space();
    if (current?.model === space.model && current.dims === space.dims) return false;
    this.db
      .transaction(() => {
        this.db.exec("DROP TABLE IF EXISTS doc_vectors; DELETE FROM doc_vector_log;");
        this.db.exec(
          `CREATE TABLE doc_vectors (
            chunk_id INTEGER PRIMARY KEY REFERENCES doc_chunks(id) ON DELETE CASCADE,
            code BLOB NOT NULL,
            embedding F32_BLOB(${space.dims}) NOT NULL
          );
          CREATE TRIGGER doc_vectors_ai AFTER INSERT ON doc_vectors BEGIN
            INSERT INTO doc_vector_log (chunk_id) VALUES (new.chunk_id);
          END;
          CREATE TRIGGER doc_vectors_au AFTER UPDATE ON doc_vectors BEGIN
            INSERT INTO doc_vector_log (chunk_id) VALUES (new.chunk_id);
          END;
          CREATE TRIGGER doc_vectors_ad AFTER DELETE ON doc_vectors BEGIN
            INSERT INTO doc_vector_log (chunk_id) VALUES (old.chunk_id);
          END;`,
        );
        this.db
          .prepare(
            "INSERT INTO doc_vector_space (id, model, dims, generation, created_at) VALUES (1, :model, :dims, 1, :now) " +
              "ON CONFLICT (id) DO UPDATE SET model = excluded.model, dims = excluded.dims, " +
              "generation = generation + 1, created_at = excluded.created_at",
          )
          .run({ model: space.model, dims: BigInt(space.dims), now: Date.now() });
      })
      .immediate();
    this.#statements.clear();
    return true;
  }

  /** Chunks with no vector yet, in index order, after chunk id `after`. */
  pending(limit: number, after = 0): PendingChunk[] {
    if (!this.space()) return [];
    return this.#sql(
      "SELECT c.id, c.text FROM doc_chunks c WHERE c.id > :after " +
        "AND NOT EXISTS (SELECT 1 FROM doc_vectors v WHERE v.chunk_id = c.id) ORDER BY c.id LIMIT :limit",
    ).all({ after: BigInt(Math.floor(after)), limit: BigInt(limit) }) as PendingChunk[];
  }

  /** How many chunks the index holds and how many of them have a vector. */
  counts(): { embedded: number; total: number } {
    const total = Number(scalar(this.db, "SELECT COUNT(*) FROM doc_chunks") ?? 0);
    const embedded = this.space() ? Number(scalar(this.db, "SELECT COUNT(*) FROM doc_vectors") ?? 0) : 0;
    return { embedded, total };
  }

  /**
   * Stores vectors in one transaction. A vector is kept only if its chunk still holds the text it was
   * made from: a file rewritten while its chunks were being embedded gets new chunks (perhaps under
   * the same ids), which must not inherit vectors of the old text. Returns how many were stored.
   */
  write(items: readonly { chunkId: number; text: string; vector: Float32Array }[]): number {
    const space = this.space();
    if (!space || !items.length) return 0;
    for (const item of items) {
      if (item.vector.length !== space.dims) {
        throw new ElmwoodError(
          "INTERNAL",
          `A vector of width ${item.vector.length} cannot join an index of width ${space.dims}.`,
        );
      }
    }
    const insert = this.#sql(
      "INSERT OR REPLACE INTO doc_vectors (chunk_id, code, embedding) " +
        "SELECT c.id, :code, :vector FROM doc_chunks c WHERE c.id = :id AND c.text = :text",
    );
    return this.db
      .transaction(() => {
        let stored = 0;
        for (const item of items) {
          stored += insert.run({
            id: BigInt(item.chunkId),
            text: item.text,
            code: asBlob(codeBytes(signCode(item.vector))),
            vector: vectorBlob(item.vector),
          }).changes;
        }
        this.#sql(
          "DELETE FROM doc_vector_log WHERE seq <= (SELECT MAX(seq) FROM doc_vector_log) - :kept",
        ).run({
          kept: BigInt(LOG_KEPT),
        });
        return stored;
      })
      .immediate();
  }

  /**
   * The `k` chunks nearest to `query` that pass the filters, nearest first. The first pass scans
   * every code; when filters leave fewer than `k` of its candidates, it runs again over the chunks
   * the filters allow (a filter that narrow allows few).
   */
  nearest(query: Float32Array, k: number, filters: SearchFilters = {}): Neighbour[] {
    const space = this.space();
    if (!space || query.length !== space.dims || k < 1) return [];
    // A vector with no direction (a query of stop words only, for some models) is near nothing.
    if (!query.some((x) => x !== 0)) return [];
    const index = this.#memory().index;
    const code = signCode(query);
    const count = Math.max(FIRST_PASS, k * 8);
    const filter = filterSql(filters);
    const ranked = this.#rank(query, index.nearest(code, count), k, filter.where, filter.params);
    if (!hasFilters(filters) || ranked.length >= k) return ranked;
    const allowed = new Set(
      (
        this.#sql(
          `SELECT c.id FROM doc_files f JOIN doc_chunks c ON c.file_id = f.id WHERE ${filter.where.join(" AND ")}`,
        )
          .raw()
          .all(filter.params) as number[][]
      ).map((r) => r[0]),
    );
    return this.#rank(query, index.nearest(code, count, allowed), k, [], {});
  }

  /** Exact cosine distances of the candidates (those still there and passing `where`), best `k`. */
  #rank(query: Float32Array, ids: number[], k: number, where: string[], params: Record<string, unknown>) {
    if (!ids.length) return [];
    // Without filters the file rows are not needed (a vector's chunk always exists: it cascades).
    const joins = where.length
      ? "JOIN doc_chunks c ON c.id = v.chunk_id JOIN doc_files f ON f.id = c.file_id "
      : "";
    return this.#sql(
      "SELECT v.chunk_id AS chunkId, vector_distance_cos(v.embedding, :query) AS distance " +
        `FROM doc_vectors v ${joins}` +
        `WHERE v.chunk_id IN (SELECT value FROM json_each(:ids))${where.map((w) => ` AND ${w}`).join("")} ` +
        "ORDER BY distance LIMIT :k",
    ).all({ ...params, query: vectorBlob(query), ids: JSON.stringify(ids), k: BigInt(k) }) as Neighbour[];
  }

  /** This connection's first-pass index, brought up to date with every process's writes. */
  #memory(): Memory {
    const space = this.#spaceRow() as { dims: number; generation: number };
    const words = codeWords(space.dims);
    let memory = memories.get(this.db);
    const oldest = Number(scalar(this.db, "SELECT MIN(seq) FROM doc_vector_log") ?? 0);
    if (!memory || memory.generation !== space.generation || (oldest > 0 && memory.seq < oldest - 1)) {
      memory = { generation: space.generation, seq: 0, index: new SignCodeIndex(words) };
      memories.set(this.db, memory);
      const full = this.db.transaction(() => {
        const seq = Number(scalar(this.db, "SELECT COALESCE(MAX(seq), 0) FROM doc_vector_log") ?? 0);
        const rows = this.#sql("SELECT chunk_id, code FROM doc_vectors").raw().all() as [number, Blob][];
        return { seq, rows };
      })();
      for (const [id, blob] of full.rows) {
        const c = codeFromBytes(bytesOf(blob), words);
        if (c) memory.index.set(id, c);
      }
      memory.seq = full.seq;
      return memory;
    }
    const changes = this.#sql(
      "SELECT l.seq, l.chunk_id, v.code FROM doc_vector_log l LEFT JOIN doc_vectors v ON v.chunk_id = l.chunk_id " +
        "WHERE l.seq > :seq ORDER BY l.seq",
    )
      .raw()
      .all({ seq: BigInt(memory.seq) }) as [number, number, Blob | null][];
    for (const [seq, id, blob] of changes) {
      const c = blob && codeFromBytes(bytesOf(blob), words);
      if (c) memory.index.set(id, c);
      else memory.index.delete(id);
      memory.seq = seq;
    }
    return memory;
  }

  #spaceRow(): { model: string; dims: number; generation: number } | undefined {
    const row = firstRow<{ model: string; dims: number; generation: number }>(
      this.db,
      "SELECT model, dims, generation FROM doc_vector_space WHERE id = 1",
    );
    return row && vectorTableExists(this.db) ? row : undefined;
  }

  #sql(source: string): Statement {
    let statement = this.#statements.get(source);
    if (!statement) {
      statement = this.db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement;
  }
}

export interface DonorVector {
  code: Blob;
  embedding: Blob;
}

/**
 * The vectors of a file's chunks by their text, from its previous version at `path` or from another
 * file with the same content (a renamed or copied file). Read inside the transaction that rewrites
 * the file, before its old chunks are deleted.
 */
export function readVectorDonors(db: Db, path: string, hash: string | null): Map<string, DonorVector> {
  const donors = new Map<string, DonorVector>();
  if (!vectorTableExists(db)) return donors;
  const rows = db
    .prepare(
      "SELECT c.text, v.code, v.embedding FROM doc_files f JOIN doc_chunks c ON c.file_id = f.id " +
        "JOIN doc_vectors v ON v.chunk_id = c.id WHERE f.path = :path OR (:hash IS NOT NULL AND f.hash = :hash)",
    )
    .all({ path, hash }) as ({ text: string } & DonorVector)[];
  for (const row of rows) donors.set(row.text, { code: row.code, embedding: row.embedding });
  return donors;
}

/** Gives each new chunk whose text a donor had that donor's vector (same transaction as the chunks). */
export function giveVectors(
  db: Db,
  chunks: readonly { id: number; text: string }[],
  donors: Map<string, DonorVector>,
): void {
  if (!donors.size || !chunks.length) return;
  const insert = db.prepare(
    "INSERT OR REPLACE INTO doc_vectors (chunk_id, code, embedding) VALUES (:id, :code, :embedding)",
  );
  for (const chunk of chunks) {
    const donor = donors.get(chunk.text);
    if (donor)
      insert.run({ id: BigInt(chunk.id), code: asBlob(donor.code), embedding: asBlob(donor.embedding) });
  }
}
