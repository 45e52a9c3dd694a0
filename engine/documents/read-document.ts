/**
 * Reads one file into sections for tools that work on a single document (summarize), with the same
 * format rules as the indexer and an ElmwoodError a person can act on for every file it cannot read.
 */
import { readFile, stat } from "node:fs/promises";
import { ElmwoodError, isElmwoodError } from "../errors.ts";
import { extractDocument } from "./extract/index.ts";
import { isKnownBinaryName, kindFromName, looksBinary } from "./file-kind.ts";
import { DEFAULT_PREPARE_OPTIONS, describeFileError } from "./prepare.ts";
import type { ExtractedDocument } from "./types.ts";

export async function readDocument(
  path: string,
  maxBytes = DEFAULT_PREPARE_OPTIONS.maxFileBytes,
): Promise<ExtractedDocument> {
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (info.isDirectory())
      throw new ElmwoodError("BAD_INPUT", `${path} is a folder.`, "Give the path of one file.");
    if (info.size > maxBytes) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `${path} is too large (${(info.size / 1048576).toFixed(1)} MB).`,
        "Split it into smaller files.",
      );
    }
    bytes = await readFile(path);
  } catch (error) {
    if (isElmwoodError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new ElmwoodError("NOT_FOUND", `There is no file at ${path}.`, "Check the path.");
    throw new ElmwoodError("BAD_INPUT", `Cannot read ${path}: ${describeFileError(error)}.`);
  }
  const kind = kindFromName(path) ?? (isKnownBinaryName(path) || looksBinary(bytes) ? undefined : "text");
  if (!kind || (kind !== "pdf" && kind !== "docx" && looksBinary(bytes))) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `${path} is not a document Elmwood can read.`,
      "Use a PDF, Word (.docx), HTML, Markdown, text or source file.",
    );
  }
  const document = await extractDocument(bytes, kind);
  if (!document.sections.some((s) => s.text.trim())) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `${path} has no text to work with.`,
      kind === "pdf" ? "A scanned PDF needs OCR first." : undefined,
    );
  }
  return document;
}

/**
 * Text that arrives without a file (a document dropped into the browser): read as the format its name
 * says (HTML, Markdown, code), plain text otherwise.
 */
export async function documentFromText(text: string, name = ""): Promise<ExtractedDocument> {
  const named = kindFromName(name);
  const kind = named === "pdf" || named === "docx" || named === undefined ? "text" : named;
  const document = await extractDocument(new TextEncoder().encode(text), kind);
  if (!document.sections.some((s) => s.text.trim())) {
    throw new ElmwoodError("BAD_INPUT", "The document has no text to work with.");
  }
  return document;
}
