/**
 * Everything that happens to one file before it reaches the database: stat, classify, read, hash,
 * extract, chunk. Every failure becomes an outcome with a reason a person can read; nothing throws.
 * Runs inside a worker thread (see prepare-pool.ts) so the CPU-heavy parts never block the app.
 */
import { createHash } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import { extname } from "node:path";
import { isElmwoodError } from "../errors.ts";
import { chunkSections } from "./chunker.ts";
import { extractDocument } from "./extract/index.ts";
import { isKnownBinaryName, kindFromName, looksBinary } from "./file-kind.ts";
import type { Chunk, CountTokens, DocumentKind } from "./types.ts";

export interface PrepareOptions {
  /** Files larger than this are skipped with a reason. */
  maxFileBytes: number;
  /** Chunk size for the index, in tokens. */
  chunkTokens: number;
  overlapTokens: number;
}

export const DEFAULT_PREPARE_OPTIONS: PrepareOptions = {
  maxFileBytes: 32 * 1024 * 1024,
  chunkTokens: 200,
  overlapTokens: 32,
};

export interface PrepareRequest {
  path: string;
  /** The content hash the index holds for this path: a file whose bytes still match is not extracted again. */
  knownHash?: string;
}

interface FileFacts {
  path: string;
  size: number;
  mtimeMs: number;
}

export type Prepared =
  | (FileFacts & { outcome: "indexed"; kind: DocumentKind; hash: string; encoding?: string; chunks: Chunk[] })
  | (FileFacts & { outcome: "unchanged"; hash: string })
  | (FileFacts & { outcome: "skipped" | "error"; kind?: DocumentKind; hash?: string; reason: string })
  | { outcome: "vanished"; path: string };

/** "512 bytes", "12.3 KB", "4.0 MB": sizes as people read them. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export async function prepareFile(
  request: PrepareRequest,
  options: PrepareOptions,
  countTokens: CountTokens,
): Promise<Prepared> {
  const { path } = request;
  let facts: FileFacts;
  try {
    const info = await stat(path);
    facts = { path, size: info.size, mtimeMs: Math.floor(info.mtimeMs) };
    if (!info.isFile()) return { ...facts, outcome: "skipped", reason: "not a regular file" };
  } catch (error) {
    return fileError(path, error, { path, size: 0, mtimeMs: 0 });
  }
  const skip = skipWithoutReading(path, facts.size, options);
  let kind = kindFromName(path);
  if (skip) return { ...facts, outcome: "skipped", kind, reason: skip };
  if (!kind) {
    // A name we do not know (README, LICENSE, .env): text if its first bytes say so.
    try {
      if (looksBinary(await readHead(path))) return { ...facts, outcome: "skipped", reason: "binary file" };
    } catch (error) {
      return fileError(path, error, facts);
    }
    kind = "text";
  }

  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    return fileError(path, error, facts);
  }
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (request.knownHash === hash) return { ...facts, outcome: "unchanged", hash };
  if (kind !== "pdf" && kind !== "docx" && looksBinary(bytes)) {
    return { ...facts, outcome: "skipped", kind, hash, reason: "binary content in a text file" };
  }

  try {
    const document = await extractDocument(bytes, kind);
    const chunks = chunkSections(document.sections, {
      countTokens,
      maxTokens: options.chunkTokens,
      overlapTokens: options.overlapTokens,
    });
    if (chunks.length === 0) {
      const reason = kind === "pdf" ? "no text found (a scanned PDF holds only images)" : "no text found";
      return { ...facts, outcome: "skipped", kind, hash, reason };
    }
    return { ...facts, outcome: "indexed", kind, hash, encoding: document.encoding, chunks };
  } catch (error) {
    const reason = isElmwoodError(error)
      ? error.message
      : `could not be read (${(error as Error)?.message ?? error})`;
    return { ...facts, outcome: "error", kind, hash, reason };
  }
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(8192), 0, 8192, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** File-system failures as outcomes: a file gone is "vanished", the others get a reason. */
function fileError(path: string, error: unknown, facts: FileFacts): Prepared {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return { outcome: "vanished", path };
  return { ...facts, outcome: "error", reason: describeFileError(error) };
}

/** One line for people about why a file could not be read. */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ELOOP":
      return "symbolic link loop";
    case "EISDIR":
      return "is a folder";
    case "EMFILE":
    case "ENFILE":
      return "too many open files; will retry on the next scan";
    case "EIO":
      return "input/output error reading the disk";
    case "EBUSY":
      return "the file is locked by another program";
    default:
      return `could not be read (${(error as Error)?.message ?? String(error)})`;
  }
}

/**
 * The skip decisions that need no reading, made before a file is sent to a worker: known binary
 * formats, empty files and files over the size limit. Undefined when the file must be read.
 */
export function skipWithoutReading(path: string, size: number, options: PrepareOptions): string | undefined {
  if (!kindFromName(path) && isKnownBinaryName(path))
    return `binary file (${extname(path).toLowerCase() || "no extension"})`;
  if (size === 0) return "empty file";
  if (size > options.maxFileBytes) {
    return `too large to index (${formatBytes(size)}; the limit is ${formatBytes(options.maxFileBytes)})`;
  }
  return undefined;
}
