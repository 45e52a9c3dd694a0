import { describe, expect, it } from "vitest";
import { decodeText } from "../../engine/documents/encoding.ts";
import { extractDocument } from "../../engine/documents/extract/index.ts";
import { looksBinary } from "../../engine/documents/file-kind.ts";
import { buildDocx, buildPdf } from "./fixtures.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

describe("extraction", () => {
  it("reads PDF text page by page and keeps the page numbers", async () => {
    const pdf = buildPdf([
      ["Photosynthesis turns light into sugar."],
      ["Chlorophyll absorbs red and blue light."],
    ]);
    const doc = await extractDocument(pdf, "pdf");
    expect(doc.sections.map((s) => s.location.page)).toEqual([1, 2]);
    expect(doc.sections[1].text).toContain("Chlorophyll absorbs");
    expect(doc.sections[1].location.label).toBe("page 2");
  });

  it("reports a password-protected PDF as such", async () => {
    await expect(extractDocument(buildPdf([["secret"]], { encrypt: true }), "pdf")).rejects.toThrow(
      /password-protected/,
    );
  });

  it("reports a damaged PDF without crashing", async () => {
    const pdf = buildPdf([["whole"]]);
    await expect(extractDocument(pdf.subarray(0, 60), "pdf")).rejects.toThrow(/damaged or not a PDF/);
  });

  it("keeps DOCX headings as the location of the text under them", async () => {
    const docx = await buildDocx([
      { heading: 1, text: "Budget" },
      { text: "Travel costs rose by a tenth." },
      { heading: 2, text: "Hotels" },
      { text: "Hotel prices doubled in summer." },
    ]);
    const doc = await extractDocument(docx, "docx");
    expect(doc.sections).toEqual([
      { text: "Travel costs rose by a tenth.", location: { label: "Budget", headings: ["Budget"] } },
      {
        text: "Hotel prices doubled in summer.",
        location: { label: "Budget › Hotels", headings: ["Budget", "Hotels"] },
      },
    ]);
  });

  it("reports a file that is not a Word document", async () => {
    await expect(extractDocument(utf8("plain words, not a zip"), "docx")).rejects.toThrow(
      /Not a readable Word document/,
    );
  });

  it("takes the main content of an HTML page, without navigation and scripts", async () => {
    const body = "The lighthouse keeper logged every passing ship in a leather book. ".repeat(8);
    const html =
      `<html><head><title>Keeper</title><script>var tracking = "SCRIPTWORD";</script></head><body>` +
      `<nav><a href="/">NAVWORD home</a></nav><article><h1>Lighthouses</h1><p>${body}</p>` +
      `<h2>Logs</h2><p>${body}</p></article><footer>FOOTWORD</footer></body></html>`;
    const doc = await extractDocument(utf8(html), "html");
    const all = doc.sections.map((s) => s.text).join(" ");
    expect(all).toContain("lighthouse keeper");
    expect(all).not.toMatch(/SCRIPTWORD|NAVWORD|FOOTWORD/);
    // Readability demotes the page's h1 to h2, so both headings end up at one level.
    const logs = doc.sections.find((s) => s.location.label.endsWith("Logs"));
    expect(logs?.text).toContain("leather book");
  });

  it("cuts Markdown at headings, ignoring '#' lines inside code fences", async () => {
    const md =
      "# Guide\n\nIntro with **bold** and a [link](http://x.test).\n\nSetup\n-----\n\n```sh\n# not a heading\n```\n";
    const doc = await extractDocument(utf8(md), "markdown");
    expect(doc.sections.map((s) => s.location.label)).toEqual(["Guide", "Guide › Setup"]);
    expect(doc.sections[0].text).toBe("Intro with bold and a link.");
    expect(doc.sections[1].text).toBe("# not a heading");
  });

  it("reads Latin-1 and UTF-16 text files right", async () => {
    const sentence = "Crème brûlée, garçon, déjà vu à Zürich.";
    const latin1 = await extractDocument(Buffer.from(sentence, "latin1"), "text");
    expect(latin1.sections[0].text).toBe(sentence);
    const utf16 = await extractDocument(Buffer.from(`\ufeff${sentence}`, "utf16le"), "text");
    expect(utf16.sections[0].text).toBe(sentence);
    expect(decodeText(Buffer.from(sentence, "utf16le"))).toEqual({ text: sentence, encoding: "utf-16le" });
    const be = Buffer.from(sentence, "utf16le").swap16();
    expect(decodeText(be).text).toBe(sentence);
  });

  it("tells binary bytes from UTF-16 text", () => {
    expect(looksBinary(Buffer.from("hello world, in UTF-16", "utf16le"))).toBe(false);
    expect(
      looksBinary(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 1])),
    ).toBe(true);
    expect(looksBinary(utf8("plain text"))).toBe(false);
  });

  it("gives source code its line span", async () => {
    const doc = await extractDocument(utf8("const a = 1;\nconst b = 2;\n"), "code");
    expect(doc.sections[0].location).toEqual({ label: "lines 1–2", lines: [1, 2] });
    expect(doc.sections[0].unit).toBe("line");
  });
});
