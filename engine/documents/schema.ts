/**
 * The document index's tables in the profile database. Chunks are mirrored into an FTS5 table by
 * triggers, so every write path (insert, delete, the cascade from a deleted file) keeps the
 * full-text index in step inside the same transaction; their vectors (doc_vectors) reference them
 * with ON DELETE CASCADE for the same reason.
 */
import { registerMigrations } from "../store/database.ts";

export const DOCUMENTS_FEATURE = "documents";

registerMigrations(DOCUMENTS_FEATURE, [
  `
  CREATE TABLE doc_folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added_at INTEGER NOT NULL,
    -- pending | scanning | indexing | ready | missing | error
    state TEXT NOT NULL DEFAULT 'pending',
    message TEXT,
    files_total INTEGER NOT NULL DEFAULT 0,
    files_done INTEGER NOT NULL DEFAULT 0,
    scan_started_at INTEGER,
    scan_finished_at INTEGER
  );
  CREATE TABLE doc_files (
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES doc_folders(id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    kind TEXT,
    size INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    hash TEXT,
    -- indexed | skipped | error
    status TEXT NOT NULL,
    reason TEXT,
    encoding TEXT,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    indexed_at INTEGER NOT NULL
  );
  CREATE INDEX doc_files_folder ON doc_files(folder_id, status);
  CREATE TABLE doc_chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES doc_files(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    location TEXT NOT NULL,
    page INTEGER,
    line_start INTEGER,
    line_end INTEGER,
    token_count INTEGER NOT NULL,
    text TEXT NOT NULL
  );
  CREATE INDEX doc_chunks_file ON doc_chunks(file_id, ordinal);
  CREATE VIRTUAL TABLE doc_chunks_fts USING fts5(
    text, location,
    content = 'doc_chunks', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
  );
  -- Words in a heading count half as much as words in the text.
  INSERT INTO doc_chunks_fts (doc_chunks_fts, rank) VALUES ('rank', 'bm25(1.0, 0.5)');
  CREATE TRIGGER doc_chunks_ai AFTER INSERT ON doc_chunks BEGIN
    INSERT INTO doc_chunks_fts (rowid, text, location) VALUES (new.id, new.text, new.location);
  END;
  CREATE TRIGGER doc_chunks_ad AFTER DELETE ON doc_chunks BEGIN
    INSERT INTO doc_chunks_fts (doc_chunks_fts, rowid, text, location) VALUES ('delete', old.id, old.text, old.location);
  END;
  CREATE TRIGGER doc_chunks_au AFTER UPDATE ON doc_chunks BEGIN
    INSERT INTO doc_chunks_fts (doc_chunks_fts, rowid, text, location) VALUES ('delete', old.id, old.text, old.location);
    INSERT INTO doc_chunks_fts (rowid, text, location) VALUES (new.id, new.text, new.location);
  END;
  `,
  // The meaning index: which embedding model the vectors come from (`generation` grows each time the
  // vector table is made anew), and a log of every change to the vectors, which lets each process keep
  // its in-memory first-pass index (vectors/sign-codes.ts) in step with writes from other processes.
  // The vectors themselves live in doc_vectors, created by vectors/vector-store.ts with the model's
  // width (libsql's F32_BLOB(n)). Files are found by content hash so that a renamed or copied file
  // takes its vectors along.
  `
  CREATE TABLE doc_vector_space (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    model TEXT NOT NULL,
    dims INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE doc_vector_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id INTEGER NOT NULL
  );
  CREATE INDEX doc_files_hash ON doc_files(hash);
  `,
]);
