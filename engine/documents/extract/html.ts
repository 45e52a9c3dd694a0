/**
 * HTML pages: the main content as Firefox's Reader View finds it (Readability over linkedom's DOM),
 * without navigation, scripts and boilerplate, cut into sections at headings.
 */
import { Readability } from "@mozilla/readability";
import { parseHTML } from "linkedom";
import type { ExtractedDocument } from "../types.ts";
import { sectionsFromDom } from "./dom-sections.ts";

/** Page furniture removed when Readability finds no article and we fall back to the whole body. */
const FURNITURE = "script, style, noscript, template, nav, header, footer, aside, form, [role=navigation]";

export function extractHtml(source: string): ExtractedDocument {
  // linkedom builds a body only for whole documents; a fragment gets one wrapped around it.
  const html = /<(html|body)[\s>]/i.test(source)
    ? source
    : `<!doctype html><html><body>${source}</body></html>`;
  const { document } = parseHTML(html);
  const title = document.title?.trim() || undefined;
  const article = readArticle(html);
  if (article) {
    const { document: content } = parseHTML(`<!doctype html><html><body>${article}</body></html>`);
    const sections = sectionsFromDom(content.body as never);
    if (sections.length) return { kind: "html", sections, title };
  }
  for (const element of document.querySelectorAll(FURNITURE)) element.remove();
  return { kind: "html", sections: sectionsFromDom((document.body ?? document) as never), title };
}

/** Readability's article HTML, or undefined for pages it cannot make sense of (very short ones). */
function readArticle(html: string): string | undefined {
  try {
    // Readability changes the DOM it reads, so it gets its own copy.
    const { document } = parseHTML(html);
    const article = new Readability(document as never, { charThreshold: 200 }).parse();
    return article?.content || undefined;
  } catch {
    return undefined;
  }
}
