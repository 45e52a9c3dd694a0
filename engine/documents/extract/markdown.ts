/**
 * Markdown: sections at ATX (`## Title`) and setext (underlined) headings, with inline markup reduced
 * to the words a person reads. Headings inside fenced code blocks are code, not structure.
 */
import type { ExtractedDocument, Section } from "../types.ts";
import { tidy } from "./dom-sections.ts";

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

export function extractMarkdown(source: string): ExtractedDocument {
  const lines = stripFrontMatter(source.replace(/\r\n?/g, "\n")).split("\n");
  const sections: Section[] = [];
  const trail: { level: number; text: string }[] = [];
  let body: string[] = [];
  let fence: string | undefined;

  const flush = () => {
    const text = tidy(body.join("\n"));
    body = [];
    if (!text) return;
    const headings = trail.map((h) => h.text);
    sections.push({
      text,
      location: { label: headings.join(" › "), headings: headings.length ? headings : undefined },
    });
  };
  const openHeading = (level: number, raw: string) => {
    flush();
    while (trail.length && trail[trail.length - 1].level >= level) trail.pop();
    const text = inline(raw).trim();
    if (text) trail.push({ level, text });
  };

  for (const line of lines) {
    const fenceMatch = FENCE.exec(line);
    if (fence) {
      if (fenceMatch && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length)
        fence = undefined;
      else body.push(line);
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1];
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      openHeading(atx[1].length, atx[2] ?? "");
      continue;
    }
    const previous = body.length ? body[body.length - 1] : "";
    const setext = SETEXT.exec(line);
    if (setext && previous.trim() && !/^\s*([-*+]|\d+[.)])\s/.test(previous)) {
      body.pop();
      openHeading(setext[1][0] === "=" ? 1 : 2, previous);
      continue;
    }
    body.push(inline(line));
  }
  flush();
  return { kind: "markdown", sections };
}

function stripFrontMatter(text: string): string {
  if (!text.startsWith("---\n")) return text;
  const end = text.indexOf("\n---", 4);
  return end < 0 ? text : text.slice(text.indexOf("\n", end + 1) + 1);
}

/** Inline markup to plain words: links and images keep their text, emphasis and code lose their marks. */
function inline(line: string): string {
  return line
    .replace(/^ {0,3}>[ ]?/, "")
    .replace(/^(\s*)(?:[-*+]|\d+[.)])\s+(\[[ xX]\]\s+)?/, "$1")
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, "$1")
    .replace(/<(https?:[^>\s]+)>/g, "$1")
    .replace(/<\/?[A-Za-z][^>]*>/g, "")
    .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, "$2")
    .replace(/(^|[^\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])/g, "$1$2")
    .replace(/`([^`]+)`/g, "$1")
    .replace(/^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*$/, "")
    .replace(/\s*\|\s*/g, " | ")
    .replace(/^ \| | \| $/g, "");
}
