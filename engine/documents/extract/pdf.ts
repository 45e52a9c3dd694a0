/**
 * PDF files through pdf.js (packaged by unpdf for servers): the text of each page, so every chunk
 * can say which page it came from. Encrypted and damaged files become clear per-file errors.
 */
import { extractText, getDocumentProxy } from "unpdf";
import { ElmwoodError } from "../../errors.ts";
import type { ExtractedDocument, Section } from "../types.ts";
import { tidy } from "./dom-sections.ts";

export async function extractPdf(bytes: Uint8Array): Promise<ExtractedDocument> {
  let pages: string[];
  try {
    // pdf.js takes ownership of (detaches) the buffer it is given: pass a copy.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), {
      isEvalSupported: false,
      verbosity: 0,
    } as never);
    try {
      ({ text: pages } = await extractText(pdf, { mergePages: false }));
    } finally {
      await pdf.destroy();
    }
  } catch (error) {
    throw pdfError(error);
  }
  const sections: Section[] = [];
  pages.forEach((text, i) => {
    const tidied = tidy(text);
    if (tidied) sections.push({ text: tidied, location: { label: `page ${i + 1}`, page: i + 1 } });
  });
  return { kind: "pdf", sections };
}

function pdfError(error: unknown): ElmwoodError {
  const name = (error as { name?: string })?.name ?? "";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "PasswordException" || /password/i.test(message)) {
    return new ElmwoodError(
      "BAD_INPUT",
      "This PDF is password-protected.",
      "Save an unprotected copy to index it.",
      { cause: error },
    );
  }
  return new ElmwoodError(
    "BAD_INPUT",
    `This PDF is damaged or not a PDF (${message}).`,
    "Open it in a PDF viewer and save or print it to a new PDF.",
    { cause: error },
  );
}
