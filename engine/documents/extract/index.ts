/** One entry point from a file's bytes and kind to its sections, whatever the format. */
import { decodeText } from "../encoding.ts";
import type { DocumentKind, ExtractedDocument } from "../types.ts";
import { extractDocx } from "./docx.ts";
import { extractHtml } from "./html.ts";
import { extractMarkdown } from "./markdown.ts";
import { extractPdf } from "./pdf.ts";
import { extractPlain } from "./plain.ts";

export async function extractDocument(bytes: Uint8Array, kind: DocumentKind): Promise<ExtractedDocument> {
  switch (kind) {
    case "pdf":
      return extractPdf(bytes);
    case "docx":
      return extractDocx(bytes);
    default: {
      const { text, encoding } = decodeText(bytes);
      const doc =
        kind === "html"
          ? extractHtml(text)
          : kind === "markdown"
            ? extractMarkdown(text)
            : extractPlain(text, kind);
      return { ...doc, encoding };
    }
  }
}
