/**
 * Walks an HTML DOM in reading order and cuts it into sections at headings, so every piece of text
 * knows the heading trail above it. Shared by HTML pages and DOCX (which mammoth turns into HTML).
 */
import type { Section } from "../types.ts";

/** Elements whose content is never text a person reads. */
const SKIPPED = new Set([
  "SCRIPT",
  "STYLE",
  "NOSCRIPT",
  "TEMPLATE",
  "SVG",
  "CANVAS",
  "IFRAME",
  "OBJECT",
  "HEAD",
  "NAV",
  "BUTTON",
  "SELECT",
  "INPUT",
  "TEXTAREA",
]);

const BLOCKS = new Set([
  "P",
  "DIV",
  "LI",
  "UL",
  "OL",
  "DL",
  "DT",
  "DD",
  "TR",
  "TABLE",
  "THEAD",
  "TBODY",
  "SECTION",
  "ARTICLE",
  "MAIN",
  "HEADER",
  "FOOTER",
  "ASIDE",
  "BLOCKQUOTE",
  "FIGURE",
  "FIGCAPTION",
  "PRE",
  "HR",
  "ADDRESS",
  "DETAILS",
  "SUMMARY",
  "BODY",
]);

const HEADING = /^H([1-6])$/;

/** The parts of the DOM API we use, satisfied by linkedom's nodes. */
interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

export function sectionsFromDom(root: DomNode): Section[] {
  const sections: Section[] = [];
  const trail: { level: number; text: string }[] = [];
  let buffer = "";

  const flush = () => {
    const text = tidy(buffer);
    buffer = "";
    if (!text) return;
    const headings = trail.map((h) => h.text);
    sections.push({
      text,
      location: { label: headings.join(" › "), headings: headings.length ? headings : undefined },
    });
  };

  const walk = (node: DomNode, inPre: boolean) => {
    if (node.nodeType === 3) {
      const raw = node.textContent ?? "";
      buffer += inPre ? raw : raw.replace(/\s+/g, " ");
      return;
    }
    if (node.nodeType !== 1 && node.nodeType !== 9 && node.nodeType !== 11) return;
    const name = node.nodeName.toUpperCase();
    if (SKIPPED.has(name)) return;
    const heading = HEADING.exec(name);
    if (heading) {
      flush();
      const level = Number(heading[1]);
      const text = (node.textContent ?? "").replace(/\s+/g, " ").trim();
      while (trail.length && trail[trail.length - 1].level >= level) trail.pop();
      if (text) trail.push({ level, text });
      return;
    }
    if (name === "BR") {
      buffer += "\n";
      return;
    }
    const block = BLOCKS.has(name);
    if (block) buffer += "\n";
    const pre = inPre || name === "PRE";
    for (let i = 0; i < node.childNodes.length; i++) walk(node.childNodes[i], pre);
    if (block) buffer += "\n";
    if (name === "TD" || name === "TH") buffer += " ";
  };

  walk(root, false);
  flush();
  return sections;
}

/** Trims each line, keeps paragraph breaks (one blank line), drops runs of empty lines. */
export function tidy(text: string): string {
  return text
    .split("\n")
    .map((line) => line.replace(/[ \t\u00a0]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
