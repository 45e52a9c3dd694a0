/**
 * The document index's reads and writes. Each file's new state (its row and all its chunks) is
 * written in one transaction, replacing the old one, so a process killed at any moment leaves every
 * file either fully indexed as before or fully indexed as after.
 */
import { sep } from "node:path";
import { ElmwoodError } from "../errors.ts";
import { type Db, migrate, type Statement } from "../store/database.ts";
import "./schema.ts";
import type { Chunk, DocumentKind } from "./types.ts";
import { giveVectors, readVectorDonors } from "./vectors/vector-store.ts";

export type FolderState = "pending" | "scanning" | "indexing" | "ready" | "missing" | "error";
export type FileStatus = "indexed" | "skipped" | "error";

export interface Folder {
  id: number;
  path: string;
  addedAt: number;
  state: FolderState;
  message: string | null;
  filesTotal: number;
  filesDone: number;
  scanStartedAt: number | null;
  scanFinishedAt: number | null;
}

export interface FileRecord {
  id: number;
  folderId: number;
  path: string;
  kind: DocumentKind | null;
  size: number;
  mtimeMs: number;
  hash: string | null;
  status: FileStatus;
  reason: string | null;
  chunkCount: number;
}

export interface FolderStatus extends Folder {
  indexed: number;
  skipped: number;
  errors: number;
  chunks: number;
  bytes: number;
  /** Skipped and failed files with their reasons, most recent first (at most `problemLimit`). */
  problems: { path: string; status: FileStatus; reason: string }[];
}

export interface FileFacts {
  path: string;
  kind?: DocumentKind | null;
  size: number;
  mtimeMs: number;
  hash?: string | null;
  encoding?: string | null;
}

interface FolderRow {
  id: number;
  path: string;
  added_at: number;
  state: FolderState;
  message: string | null;
  files_total: number;
  files_done: number;
  scan_started_at: number | null;
  scan_finished_at: number | null;
}

interface FileRow {
  id: number;
  folder_id: number;
  path: string;
  kind: DocumentKind | null;
  size: number;
  mtime_ms: number;
  hash: string | null;
  status: FileStatus;
  reason: string | null;
  chunk_count: number;
}

const toFolder = (r: FolderRow): Folder => ({
  id: r.id,
  path: r.path,
  addedAt: r.added_at,
  state: r.state,
  message: r.message,
  filesTotal: r.files_total,
  filesDone: r.files_done,
  scanStartedAt: r.scan_started_at,
  scanFinishedAt: r.scan_finished_at,
});

const toFile = (r: FileRow): FileRecord => ({
  id: r.id,
  folderId: r.folder_id,
  path: r.path,
  kind: r.kind,
  size: r.size,
  mtimeMs: r.mtime_ms,
  hash: r.hash,
  status: r.status,
  reason: r.reason,
  chunkCount: r.chunk_count,
});

/** The SQL range of paths strictly below a folder: [folder + sep, folder + next char after sep). */
export function belowRange(folder: string): [string, string] {
  const base = folder.endsWith(sep) ? folder.slice(0, -1) : folder;
  return [base + sep, base + String.fromCharCode(sep.charCodeAt(0) + 1)];
}

export class IndexStore {
  readonly db: Db;
  readonly #statements = new Map<string, Statement>();

  constructor(db: Db) {
    this.db = db;
    migrate(db);
  }

  folders(): Folder[] {
    return (this.#sql("SELECT * FROM doc_folders ORDER BY path").all() as FolderRow[]).map(toFolder);
  }

  folder(id: number): Folder | undefined {
    const row = this.#sql("SELECT * FROM doc_folders WHERE id = ?").all(id)[0] as FolderRow | undefined;
    return row && toFolder(row);
  }

  folderByPath(path: string): Folder | undefined {
    const row = this.#sql("SELECT * FROM doc_folders WHERE path = ?").all(path)[0] as FolderRow | undefined;
    return row && toFolder(row);
  }

  /** The folder that holds `path` (the folder itself or any file below it). */
  folderContaining(path: string): Folder | undefined {
    return this.folders().find((f) => path === f.path || path.startsWith(belowRange(f.path)[0]));
  }

  /**
   * Adds a folder, replacing any already-added folders inside it (their files are indexed again under
   * the new one). Adding a folder that an added folder already contains is refused.
   */
  addFolder(path: string, now = Date.now()): { folder: Folder; replaced: string[] } {
    return this.db
      .transaction(() => {
        const existing = this.folderByPath(path);
        if (existing) return { folder: existing, replaced: [] };
        const outer = this.folderContaining(path);
        if (outer) {
          throw new ElmwoodError(
            "BAD_INPUT",
            `${path} is already indexed as part of ${outer.path}.`,
            "Nothing to do; search it with a folder filter if you want results from it alone.",
          );
        }
        const [lo, hi] = belowRange(path);
        const inner = (
          this.#sql("SELECT path FROM doc_folders WHERE path >= ? AND path < ?").all(lo, hi) as {
            path: string;
          }[]
        ).map((r) => r.path);
        this.#sql("DELETE FROM doc_folders WHERE path >= ? AND path < ?").run(lo, hi);
        const id = Number(
          this.#sql("INSERT INTO doc_folders (path, added_at) VALUES (?, ?)").run(path, now).lastInsertRowid,
        );
        return { folder: this.folder(id) as Folder, replaced: inner };
      })
      .immediate();
  }

  /** Removes a folder and everything indexed from it. */
  removeFolder(id: number): void {
    this.#sql("DELETE FROM doc_folders WHERE id = ?").run(id);
  }

  setFolderState(id: number, state: FolderState, message: string | null = null): void {
    const now = Date.now();
    this.#sql(
      "UPDATE doc_folders SET state = ?, message = ?, " +
        "scan_started_at = CASE WHEN ? = 'scanning' THEN ? ELSE scan_started_at END, " +
        "scan_finished_at = CASE WHEN ? IN ('ready', 'missing', 'error') THEN ? ELSE scan_finished_at END WHERE id = ?",
    ).run(state, message, state, now, state, now, id);
  }

  setFolderProgress(id: number, done: number, total: number): void {
    this.#sql("UPDATE doc_folders SET files_done = ?, files_total = ? WHERE id = ?").run(done, total, id);
  }

  files(folderId: number): FileRecord[] {
    return (this.#sql("SELECT * FROM doc_files WHERE folder_id = ?").all(folderId) as FileRow[]).map(toFile);
  }

  file(path: string): FileRecord | undefined {
    const row = this.#sql("SELECT * FROM doc_files WHERE path = ?").all(path)[0] as FileRow | undefined;
    return row && toFile(row);
  }

  /** Replaces whatever the index held for this file with its new chunks, atomically. */
  writeIndexed(folderId: number, file: FileFacts, chunks: readonly Chunk[]): void {
    this.#writeFile(folderId, file, "indexed", null, chunks);
  }

  /** Records a file that is not indexed and why; drops any chunks it had. */
  writeNotIndexed(
    folderId: number,
    file: FileFacts,
    status: Exclude<FileStatus, "indexed">,
    reason: string,
  ): void {
    this.#writeFile(folderId, file, status, reason, []);
  }

  /** Content unchanged (same hash): only the size and time are brought up to date. */
  touch(path: string, size: number, mtimeMs: number): void {
    this.#sql("UPDATE doc_files SET size = ?, mtime_ms = ? WHERE path = ?").run(size, mtimeMs, path);
  }

  /** Forgets files (and their chunks) in one transaction. */
  deleteFiles(paths: readonly string[]): void {
    if (!paths.length) return;
    const remove = this.#sql("DELETE FROM doc_files WHERE path = ?");
    this.db.transaction(() => {
      for (const path of paths) remove.run(path);
    })();
  }

  /** Forgets a path and, if it was a folder, everything below it. Returns how many files went. */
  deletePathAndBelow(path: string): number {
    const [lo, hi] = belowRange(path);
    return this.db.transaction(() => {
      const one = this.#sql("DELETE FROM doc_files WHERE path = ?").run(path).changes;
      return one + this.#sql("DELETE FROM doc_files WHERE path >= ? AND path < ?").run(lo, hi).changes;
    })();
  }

  status(problemLimit = 20): FolderStatus[] {
    const counts = this.#sql(
      "SELECT status, COUNT(*) AS n, COALESCE(SUM(chunk_count), 0) AS chunks, COALESCE(SUM(size), 0) AS bytes " +
        "FROM doc_files WHERE folder_id = ? GROUP BY status",
    );
    const problems = this.#sql(
      "SELECT path, status, reason FROM doc_files WHERE folder_id = ? AND status != 'indexed' ORDER BY indexed_at DESC, path LIMIT ?",
    );
    return this.folders().map((folder) => {
      const status: FolderStatus = {
        ...folder,
        indexed: 0,
        skipped: 0,
        errors: 0,
        chunks: 0,
        bytes: 0,
        problems: [],
      };
      for (const row of counts.all(folder.id) as {
        status: FileStatus;
        n: number;
        chunks: number;
        bytes: number;
      }[]) {
        if (row.status === "indexed") {
          status.indexed = row.n;
          status.chunks = row.chunks;
          status.bytes = row.bytes;
        } else if (row.status === "skipped") status.skipped = row.n;
        else status.errors = row.n;
      }
      status.problems = problems.all(folder.id, problemLimit) as FolderStatus["problems"];
      return status;
    });
  }

  /** Statements are prepared once per store: indexing runs the same few thousands of times. */
  #sql(source: string): Statement {
    let statement = this.#statements.get(source);
    if (!statement) {
      statement = this.db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement;
  }

  #writeFile(
    folderId: number,
    file: FileFacts,
    status: FileStatus,
    reason: string | null,
    chunks: readonly Chunk[],
  ) {
    const db = this.db;
    db.transaction(() => {
      // Text that did not change keeps its vector: an edit re-embeds only what it touched.
      const donors = chunks.length ? readVectorDonors(db, file.path, file.hash ?? null) : new Map();
      // Deleting the old row cascades to its chunks (and their vectors), and the triggers take them
      // out of the FTS index.
      this.#sql("DELETE FROM doc_files WHERE path = ?").run(file.path);
      const fileId = this.#sql(
        "INSERT INTO doc_files (folder_id, path, kind, size, mtime_ms, hash, status, reason, encoding, chunk_count, indexed_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(
        folderId,
        file.path,
        file.kind ?? null,
        file.size,
        file.mtimeMs,
        file.hash ?? null,
        status,
        reason,
        file.encoding ?? null,
        chunks.length,
        Date.now(),
      ).lastInsertRowid;
      const insert = this.#sql(
        "INSERT INTO doc_chunks (file_id, ordinal, location, page, line_start, line_end, token_count, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      );
      const written: { id: number; text: string }[] = [];
      for (const chunk of chunks) {
        const { label, page, lines } = chunk.location;
        const { lastInsertRowid } = insert.run(
          fileId,
          chunk.ordinal,
          label,
          page ?? null,
          lines?.[0] ?? null,
          lines?.[1] ?? null,
          chunk.tokenCount,
          chunk.text,
        );
        if (donors.size) written.push({ id: Number(lastInsertRowid), text: chunk.text });
      }
      giveVectors(db, written, donors);
    })();
  }
}
