/**
 * Conversation search over the FTS5 index: ranking, prefixes while typing, highlighted snippets, the
 * index kept in step with every write, safe handling of FTS syntax, and an old profile migrated.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConversationHit } from "../../engine/api/contract.ts";
import { CHAT_FEATURE, CHAT_MIGRATIONS } from "../../engine/chat/schema.ts";
import { ConversationStore } from "../../engine/chat/store.ts";
import { type Db, openDatabase, scalar, schemaVersion } from "../../engine/store/database.ts";

const sampling = { temperature: 0.7, topP: 0.9, topK: 40, minP: 0, repetitionPenalty: 1.2, maxTokens: 64 };

let db: Db;
let store: ConversationStore;

beforeEach(() => {
  db = openDatabase(":memory:");
  store = new ConversationStore(db);
});

afterEach(() => db.close());

/** A conversation with the given exchange, oldest first: user, assistant, user, ... */
function chat(title: string, ...texts: string[]): string {
  const { id } = store.create({ title, systemPrompt: "", sampling, model: null });
  let parentId: string | null = null;
  texts.forEach((content, i) => {
    parentId = store.add(id, { parentId, role: i % 2 === 0 ? "user" : "assistant", content }).id;
  });
  return id;
}

/** The matched words of a hit's snippet, as the sidebar would mark them. */
function marked(hit: ConversationHit): string[] {
  return hit.highlights.map(([start, end]) => hit.snippet.slice(start, end));
}

describe("conversation search", () => {
  it("ranks the conversation that is most about the words first", () => {
    const about = chat(
      "Trees",
      "Tell me about oak trees.",
      "Oak trees grow slowly; an oak can live for centuries.",
    );
    // Newer, so a list by date would put it first.
    const passing = chat("Weekend", "We walked past an oak on the way to the shops.", "Nice.");
    const hits = store.search("oak", 10);
    expect(hits.map((h) => h.conversationId)).toEqual([about, passing]);
  });

  it("finds every word anywhere in one message, in any order and case, ignoring accents", () => {
    const id = chat("Notes", "The CAFÉ by the river serves tea.");
    chat("Other", "A river without a cafe.", "Tea is elsewhere.");
    expect(store.search("tea cafe", 10).map((h) => h.conversationId)).toEqual([id]);
  });

  it("matches the last word as a prefix while typing, and only then", () => {
    const id = chat("Garden", "The rhododendrons flowered early this year.");
    expect(store.search("rhodod", 10)).toEqual([]);
    expect(store.search("rhodod", 10, { asYouType: true }).map((h) => h.conversationId)).toEqual([id]);
    // A finished word (followed by a space) is a whole word again.
    expect(store.search("rhodod ", 10, { asYouType: true })).toEqual([]);
  });

  it("gives a snippet around the match with the matched words' ranges", () => {
    const filler = "Some words to push the match along. ".repeat(6);
    chat("Long", `${filler}The heron stood still in the shallow water. ${filler}`);
    const [hit] = store.search("heron water", 10);
    expect(hit.snippet).toContain("heron stood still in the shallow water");
    expect(hit.snippet.length).toBeLessThan(200);
    expect(marked(hit)).toEqual(["heron", "water"]);
  });

  it("marks a prefix match in the snippet as the whole word it matched", () => {
    chat("Birds", "A kingfisher flashed past.");
    const [hit] = store.search("kingf", 10, { asYouType: true });
    expect(marked(hit)).toEqual(["kingfisher"]);
  });

  it("finds a conversation by its title, with the title's matched words marked", () => {
    const id = chat("Planning the allotment", "Where do the beans go?");
    const [hit] = store.search("allotment", 10);
    expect(hit).toMatchObject({ conversationId: id, messageId: null, snippet: "", highlights: [] });
    expect(hit.titleHighlights.map(([s, e]) => hit.title.slice(s, e))).toEqual(["allotment"]);
  });

  it("gives one hit per conversation: its best-matching message", () => {
    const id = chat(
      "By the pond",
      "On the long walk by the river and the fields we passed a willow and some ducks.",
      "The willow by the pond is a weeping willow: a willow of the old kind.",
    );
    const hits = store.search("willow", 10);
    expect(hits).toHaveLength(1);
    const best = store.messages(id)[1].id;
    expect(hits[0].messageId).toBe(best);
  });

  it("never fails on FTS5 syntax in what a person types", () => {
    chat("Syntax", 'He said "hello" AND left (quickly) - NEAR the col:umn * end^');
    for (const query of [
      '"',
      '"hello',
      "AND",
      "hello AND",
      "(quickly",
      "NEAR(",
      "col:umn",
      "*",
      "end^",
      "-",
      "'; DROP TABLE chat_messages; --",
      "a OR",
      "NOT",
      "{}",
    ]) {
      expect(() => store.search(query, 10), query).not.toThrow();
      expect(() => store.search(query, 10, { asYouType: true }), query).not.toThrow();
    }
    expect(store.search('"hello"', 10)).toHaveLength(1);
    expect(store.search("col:umn", 10)).toHaveLength(1);
    expect(scalar(db, "SELECT COUNT(*) FROM chat_messages")).toBe(1);
  });

  it("excludes conversations with a -word and finds exact phrases in quotes", () => {
    const red = chat("A", "the red kite circled");
    chat("B", "the red fox and a kite");
    expect(store.search('"red kite"', 10).map((h) => h.conversationId)).toEqual([red]);
    expect(store.search("red -fox", 10).map((h) => h.conversationId)).toEqual([red]);
  });

  it("keeps the index in step: renamed titles, deleted conversations and their messages", () => {
    const id = chat("Old name", "A message about lichens.");
    store.rename(id, "Mosses and more");
    expect(store.search("old", 10)).toEqual([]);
    expect(store.search("mosses", 10).map((h) => h.conversationId)).toEqual([id]);
    store.delete(id);
    expect(store.search("lichens", 10)).toEqual([]);
    expect(store.search("mosses", 10)).toEqual([]);
    expect(scalar(db, "SELECT COUNT(*) FROM chat_messages_fts")).toBe(0);
    expect(scalar(db, "SELECT COUNT(*) FROM chat_titles_fts")).toBe(0);
    expect(scalar(db, "SELECT COUNT(*) FROM chat_search_keys")).toBe(0);
  });

  it("names an untitled conversation after its first message, and finds it by that name", () => {
    const { id } = store.create({ systemPrompt: "", sampling, model: null });
    store.add(id, { parentId: null, role: "user", content: "Pruning apple trees" });
    const [hit] = store.search("pruning", 10);
    expect(hit.title).toBe("Pruning apple trees");
    expect(hit.titleHighlights).toEqual([[0, 7]]);
  });
});

describe("an existing profile", () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "elmwood-chat-search-"));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("gets its stored messages and titles indexed when the search migration runs", () => {
    const path = join(root, "elmwood.db");
    // The profile as the first chat schema left it, before search existed.
    const old = new Database(path);
    old.exec(CHAT_MIGRATIONS[0]);
    old.exec("CREATE TABLE schema_migrations (feature TEXT PRIMARY KEY, version INTEGER NOT NULL)");
    old.prepare("INSERT INTO schema_migrations (feature, version) VALUES (?, 1)").run(CHAT_FEATURE);
    old
      .prepare(
        "INSERT INTO chat_conversations (id, title, sampling, active_leaf_id, created_at, updated_at) VALUES ('c1', 'Hedgerows', ?, 'm2', 1, 1)",
      )
      .run(JSON.stringify(sampling));
    const insert = old.prepare(
      "INSERT INTO chat_messages (id, conversation_id, parent_id, seq, role, content, created_at) VALUES (?, 'c1', ?, ?, ?, ?, 1)",
    );
    insert.run("m1", null, 1, "user", "Which berries grow in a hedgerow?");
    insert.run("m2", "m1", 2, "assistant", "Blackberries, sloes and elderberries.");
    old.close();

    const migrated = openDatabase(path);
    try {
      expect(schemaVersion(migrated, CHAT_FEATURE)).toBe(CHAT_MIGRATIONS.length);
      const search = new ConversationStore(migrated);
      expect(search.search("sloes", 10)).toMatchObject([{ conversationId: "c1", messageId: "m2" }]);
      expect(search.search("hedgerows", 10)).toMatchObject([{ conversationId: "c1", messageId: null }]);
      // Old messages read back with the fields added since (no interruption).
      expect(search.view("c1").messages.map((m) => m.interruption)).toEqual([null, null]);
    } finally {
      migrated.close();
    }
  });
});
