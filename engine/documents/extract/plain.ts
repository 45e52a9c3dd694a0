/**
 * Plain text and source code: one section for the whole file, marked with its line span so the
 * chunker can give every chunk the exact lines it covers.
 */
import type { DocumentKind, ExtractedDocument } from "../types.ts";

export function extractPlain(text: string, kind: Extract<DocumentKind, "text" | "code">): ExtractedDocument {
  const normalized = text.replace(/\r\n?/g, "\n").replace(/^\ufeff/, "");
  if (!normalized.trim()) return { kind, sections: [] };
  const lineCount = normalized.replace(/\n$/, "").split("\n").length;
  return {
    kind,
    sections: [
      {
        text: normalized,
        location: { label: `lines 1–${lineCount}`, lines: [1, lineCount] },
        unit: kind === "code" ? "line" : "sentence",
      },
    ],
  };
}
