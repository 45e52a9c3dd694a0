import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DocumentIndexer } from "../../engine/documents/indexer.ts";
import { parseQuery } from "../../engine/documents/query.ts";
import { parseSnippet, searchIndex } from "../../engine/documents/search.ts";
import type { Db } from "../../engine/store/database.ts";
import { buildDocx, buildPdf, tempDir } from "./fixtures.ts";
import { openTestIndex } from "./helpers.ts";

describe("search", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let db: Db;
  let indexer: DocumentIndexer;
  const docs = (name: string) => join(dir, "docs", name);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, "docs", "notes"), { recursive: true });
    await writeFile(
      docs("volcanoes.pdf"),
      buildPdf([
        ["Volcanoes form where tectonic plates meet.", "Magma rises through the crust."],
        ["Basalt lava flows are runny and travel far.", "Pyroclastic flows are the deadliest hazard."],
      ]),
    );
    await writeFile(
      docs("bees.docx"),
      await buildDocx([
        { heading: 1, text: "Honeybees" },
        { text: "A colony has one queen, thousands of workers and a few drones." },
        { heading: 2, text: "Waggle dance" },
        { text: "Foragers perform the waggle dance to show the direction of nectar." },
      ]),
    );
    const article = "Sourdough bread rises slowly because wild yeast ferments the dough overnight. ".repeat(
      4,
    );
    await writeFile(
      docs("bread.html"),
      `<html><head><title>Bread</title></head><body><nav>Menu Volcanoes Honeybees</nav><article><h1>Sourdough</h1><p>${article}</p><p>The starter needs flour and water daily.</p></article></body></html>`,
    );
    await writeFile(
      docs("notes/chess.md"),
      "# Chess openings\n\nThe Sicilian Defence answers 1.e4 with c5.\n\n## Endgames\n\nKing and pawn endgames reward opposition.\n",
    );
    await writeFile(
      docs("notes/tides.txt"),
      "Tides follow the moon. Spring tides come at new and full moon.\n",
    );
    const old = new Date("2020-01-15T12:00:00Z");
    await utimes(docs("notes/tides.txt"), old, old);
    ({ db, indexer } = openTestIndex(dir));
    await indexer.addFolder(join(dir, "docs"));
    await indexer.whenIdle();
  });
  afterAll(async () => {
    await indexer.close();
    db.close();
    await cleanup();
  });

  it.each([
    ["tectonic plates magma", "volcanoes.pdf"],
    ["waggle dance nectar", "bees.docx"],
    ["wild yeast ferments", "bread.html"],
    ["sicilian defence", "chess.md"],
    ["spring tides moon", "tides.txt"],
  ])("ranks the right document first for %s", (query, file) => {
    const { hits } = searchIndex(db, query);
    expect(hits[0]?.path.endsWith(file)).toBe(true);
  });

  it("reports where each hit is: the PDF page, the DOCX heading trail, the text lines", () => {
    expect(searchIndex(db, "pyroclastic").hits[0]).toMatchObject({ location: "page 2", page: 2 });
    expect(searchIndex(db, "foragers").hits[0].location).toBe("Honeybees › Waggle dance");
    expect(searchIndex(db, "opposition").hits[0].location).toBe("Chess openings › Endgames");
    expect(searchIndex(db, "spring tides").hits[0].lines).toEqual([1, 1]);
  });

  it("highlights the matched words in the snippet", () => {
    const hit = searchIndex(db, "waggle").hits[0];
    expect(hit.highlights.length).toBeGreaterThan(0);
    for (const [a, b] of hit.highlights) expect(hit.snippet.slice(a, b).toLowerCase()).toBe("waggle");
  });

  it("matches an exact phrase only in that order", () => {
    expect(searchIndex(db, '"plates meet"').hits).toHaveLength(1);
    expect(searchIndex(db, '"meet plates"').hits).toHaveLength(0);
  });

  it("matches a prefix with * and the word being typed", () => {
    expect(searchIndex(db, "sourd*").hits[0]?.path.endsWith("bread.html")).toBe(true);
    expect(searchIndex(db, "sourd").hits).toHaveLength(0);
    expect(searchIndex(db, "sourd", { asYouType: true }).hits[0]?.path.endsWith("bread.html")).toBe(true);
  });

  it("leaves out navigation text of HTML pages", () => {
    const hits = searchIndex(db, "menu").hits;
    expect(hits).toHaveLength(0);
  });

  it("excludes words prefixed with a minus", () => {
    const all = searchIndex(db, "moon").hits.length;
    expect(all).toBeGreaterThan(0);
    expect(searchIndex(db, "moon -tides").hits).toHaveLength(0);
  });

  it("filters by folder, type and modification date", () => {
    expect(
      searchIndex(db, "the", { folders: [docs("notes")], limit: 50 }).hits.every((h) =>
        h.path.includes("/notes/"),
      ),
    ).toBe(true);
    expect(searchIndex(db, "the", { kinds: ["pdf"], limit: 50 }).hits.map((h) => h.kind)).toEqual(
      expect.arrayContaining(["pdf"]),
    );
    expect(searchIndex(db, "the", { kinds: ["pdf"], limit: 50 }).hits.every((h) => h.kind === "pdf")).toBe(
      true,
    );
    const before2021 = searchIndex(db, "moon", { modifiedBefore: Date.UTC(2021, 0, 1) }).hits;
    expect(before2021.map((h) => h.path)).toEqual([docs("notes/tides.txt")]);
    expect(searchIndex(db, "moon", { modifiedAfter: Date.UTC(2021, 0, 1) }).hits).toHaveLength(0);
  });

  it("while typing, ranks only the newest matches of a query that matches too much, and says so", () => {
    const full = searchIndex(db, "the", { limit: 50 });
    expect(full.partial).toBe(false);
    expect(full.hits.length).toBeGreaterThan(2);
    const typed = searchIndex(db, "the", { limit: 1, asYouType: true, typingRankCap: 1 });
    expect(typed.partial).toBe(true);
    const newest = Math.max(...full.hits.map((h) => h.chunkId));
    const oldest = Math.min(...full.hits.map((h) => h.chunkId));
    expect(typed.hits[0].chunkId).toBeGreaterThan(oldest);
    expect(typed.hits[0].chunkId).toBeLessThanOrEqual(newest);
    expect(searchIndex(db, "the", { limit: 1, asYouType: true }).partial).toBe(false);
  });

  it("never fails on FTS syntax typed by a person", () => {
    for (const query of [
      '"unbalanced',
      "AND OR NOT",
      "col:umn",
      "(((",
      "*",
      "a - b",
      'NEAR("x" "y")',
      "^start",
    ]) {
      expect(() => searchIndex(db, query)).not.toThrow();
    }
    expect(searchIndex(db, "   ").hits).toEqual([]);
  });
});

describe("query parsing", () => {
  it("quotes every term so FTS5 operators in the input are plain words", () => {
    expect(parseQuery("cats AND dogs").match).toBe('"cats" "AND" "dogs"');
    expect(parseQuery('say "hello world" -bye').match).toBe('("say" "hello world") NOT ("bye")');
    expect(parseQuery("state-of-the-art").match).toBe('"state of the art"');
  });

  it("makes only the last word a prefix while typing, and only once it has two letters", () => {
    expect(parseQuery("quick bro", { asYouType: true }).match).toBe('"quick" "bro"*');
    expect(parseQuery("quick b", { asYouType: true }).match).toBe('"quick" "b"');
    expect(parseQuery("quick bro ", { asYouType: true }).match).toBe('"quick" "bro"');
  });
});

describe("snippet highlights", () => {
  it("turns FTS5 markers into ranges and merges neighbouring words", () => {
    const { text, highlights } = parseSnippet("a \u0002big\u0003 \u0002red\u0003\n\ndog");
    expect(text).toBe("a big red dog");
    expect(highlights.map(([s, e]) => text.slice(s, e))).toEqual(["big red"]);
  });
});
