/**
 * The text check used for the meaning side's candidates must agree with the full-text index: the
 * same queries over the same passages select the same passages, and snippets highlight the words.
 */
import { describe, expect, it } from "vitest";
import { IndexStore } from "../../engine/documents/index-store.ts";
import { parseQuery } from "../../engine/documents/query.ts";
import { matchSnippet, matchText } from "../../engine/documents/text-match.ts";
import { openDatabase } from "../../engine/store/database.ts";

const PASSAGES: [string, string][] = [
  ["The invoice is due on Friday.", "Bills › March"],
  ["Café crème and a naïve façade; the résumé is attached.", ""],
  ["Big dogs chase small cats in the garden.", "Garden"],
  ["dog-friendly hotels near the station, e4 c5", "Travel"],
  ["Indexing: the indexer indexes INDEXES of indexed files.", ""],
  ["Nothing to see here.", "Invoice archive"],
];

const QUERIES = [
  "invoice",
  "cafe",
  "résumé",
  '"big dogs"',
  '"dogs big"',
  "dog",
  "dog*",
  "index*",
  "indexes",
  "the -garden",
  "the -dog*",
  "e4-c5",
  "garden",
  "invoice -friday",
  '"small cats" garden',
];

describe("matching a passage's text like the full-text index", () => {
  const db = openDatabase(":memory:");
  const store = new IndexStore(db);
  const { folder } = store.addFolder("/docs");
  for (const [i, [text, label]] of PASSAGES.entries()) {
    store.writeIndexed(folder.id, { path: `/docs/${i}.txt`, kind: "text", size: 1, mtimeMs: 0 }, [
      { ordinal: 0, text, location: { label }, tokenCount: 10 },
    ]);
  }
  const rows = db.prepare("SELECT id, text, location FROM doc_chunks ORDER BY id").all() as {
    id: number;
    text: string;
    location: string;
  }[];

  it.each(QUERIES)("selects the same passages as FTS5 for %j", (query) => {
    const parsed = parseQuery(query);
    const fts = (
      db
        .prepare("SELECT rowid FROM doc_chunks_fts WHERE doc_chunks_fts MATCH ? ORDER BY rowid")
        .raw()
        .all(parsed.match) as number[][]
    ).map((r) => r[0]);
    const ours = rows.filter((r) => matchText(parsed, r.text, r.location)).map((r) => r.id);
    expect(ours).toEqual(fts);
  });

  it("treats the word being typed as a prefix", () => {
    const typed = parseQuery("inv", { asYouType: true });
    expect(matchText(typed, "The invoice is due.")).toBeDefined();
    expect(matchText(parseQuery("inv"), "The invoice is due.")).toBeUndefined();
  });

  it("highlights the matched words in a snippet around the first match", () => {
    const text = `${"filler ".repeat(40)}the big dogs bark ${"tail ".repeat(40)}`;
    const parsed = parseQuery('"big dogs"');
    const found = matchText(parsed, text);
    if (!found) throw new Error("should match");
    const { snippet, highlights } = matchSnippet(text, found, 12);
    expect(snippet.startsWith("… ")).toBe(true);
    expect(snippet.endsWith(" …")).toBe(true);
    expect(highlights.map(([a, b]) => snippet.slice(a, b))).toEqual(["big dogs"]);
  });
});
