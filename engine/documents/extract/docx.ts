/**
 * Word documents: mammoth maps the document's styles to HTML (Heading 1 to <h1> and so on), which
 * keeps the heading structure, and the shared DOM walker cuts sections at those headings.
 */
import { parseHTML } from "linkedom";
import mammoth from "mammoth";
import { ElmwoodError } from "../../errors.ts";
import type { ExtractedDocument } from "../types.ts";
import { sectionsFromDom } from "./dom-sections.ts";

export async function extractDocx(bytes: Uint8Array): Promise<ExtractedDocument> {
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml({
      buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
    }));
  } catch (error) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `Not a readable Word document (${(error as Error).message.split("\n")[0]}).`,
      "Open it in Word or LibreOffice and save it again as .docx.",
      { cause: error },
    );
  }
  const { document } = parseHTML(`<!doctype html><html><body>${html}</body></html>`);
  return { kind: "docx", sections: sectionsFromDom(document.body as never) };
}
