/**
 * Exporting the branch on screen as Markdown and JSON, and importing the JSON back: what a file
 * holds, that a round trip keeps the conversation, and one clear refusal per kind of bad file.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { interruption } from "../../engine/chat/interruption.ts";
import { ConversationStore } from "../../engine/chat/store.ts";
import {
  exportConversation,
  FILE_FORMAT,
  fileNameFor,
  importConversation,
  parseConversationFile,
} from "../../engine/chat/transfer.ts";
import { type Db, openDatabase } from "../../engine/store/database.ts";

const sampling = {
  temperature: 0.3,
  topP: 0.9,
  topK: 40,
  minP: 0.05,
  repetitionPenalty: 1.2,
  maxTokens: 256,
};
const stats = {
  promptTokens: 20,
  reusedTokens: 0,
  completionTokens: 7,
  tokensPerSecond: 30,
  firstTokenMs: 40,
  totalMs: 300,
  finishReason: "eos" as const,
};
const NOW = Date.UTC(2025, 4, 1, 14, 3);

let db: Db;
let store: ConversationStore;
let id: string;

beforeEach(() => {
  db = openDatabase(":memory:");
  store = new ConversationStore(db);
  id = store.create(
    {
      title: "Trees by the river",
      systemPrompt: "Answer briefly.\nUse British spelling.",
      sampling,
      model: "tiny",
    },
    Date.UTC(2025, 3, 30, 9, 0),
  ).id;
  const q1 = store.add(id, { parentId: null, role: "user", content: "Which trees like wet ground?" });
  // An older reply, replaced by a regenerated one: only the branch on screen is exported.
  store.add(id, { parentId: q1.id, role: "assistant", content: "An old answer", model: "tiny" });
  const a1 = store.add(id, {
    parentId: q1.id,
    role: "assistant",
    content: "Willows and **alders**.",
    model: "tiny",
    stats,
  });
  const q2 = store.add(id, { parentId: a1.id, role: "user", content: "And oaks?" });
  store.add(id, {
    parentId: q2.id,
    role: "assistant",
    content: "Oaks prefer",
    model: "tiny-two",
    interruption: interruption("crash"),
  });
});

afterEach(() => db.close());

describe("exporting a conversation", () => {
  it("as Markdown: title, model, settings, system prompt, then the branch on screen", () => {
    const file = exportConversation(store.view(id), "md", NOW);
    expect(file).toMatchObject({ filename: "Trees by the river.md", mimeType: "text/markdown" });
    expect(file.content).toBe(
      [
        "# Trees by the river",
        "",
        "- **Model:** tiny",
        "- **Settings:** temperature 0.3 · top-p 0.9 · top-k 40 · min-p 0.05 · repetition penalty 1.2 · replies up to 256 tokens",
        "- **Started:** 2025-04-30 09:00 UTC",
        "- **Exported from Elmwood:** 2025-05-01 14:03 UTC",
        "",
        "## System prompt",
        "",
        "> Answer briefly.",
        "> Use British spelling.",
        "",
        "---",
        "",
        "### You",
        "",
        "Which trees like wet ground?",
        "",
        "### Elmwood (tiny)",
        "",
        "Willows and **alders**.",
        "",
        "### You",
        "",
        "And oaks?",
        "",
        "### Elmwood (tiny-two)",
        "",
        "Oaks prefer",
        "",
        `_${interruption("crash").message}_`,
        "",
      ].join("\n"),
    );
  });

  it("as JSON: the branch with its settings and the models that wrote it", () => {
    const file = exportConversation(store.view(id), "json", NOW);
    expect(file).toMatchObject({ filename: "Trees by the river.json", mimeType: "application/json" });
    const data = JSON.parse(file.content);
    expect(data).toMatchObject({
      format: FILE_FORMAT,
      version: 1,
      exportedAt: "2025-05-01T14:03:00.000Z",
      title: "Trees by the river",
      createdAt: "2025-04-30T09:00:00.000Z",
      settings: { systemPrompt: "Answer briefly.\nUse British spelling.", sampling, model: "tiny" },
      models: ["tiny", "tiny-two"],
    });
    expect(data.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ["user", "Which trees like wet ground?"],
      ["assistant", "Willows and **alders**."],
      ["user", "And oaks?"],
      ["assistant", "Oaks prefer"],
    ]);
    expect(data.messages[1].stats).toEqual(stats);
    expect(data.messages[3].interruption.cause).toBe("crash");
  });

  it("names the file after the title, safely on every system", () => {
    expect(fileNameFor('What is "a/b"? <x>: y*', "md")).toBe("What is a b x y.md");
    expect(fileNameFor("...hidden", "json")).toBe("hidden.json");
    expect(fileNameFor("\u0000\u0001", "md")).toBe("conversation.md");
    expect(fileNameFor("x".repeat(300), "md")).toHaveLength(83);
  });
});

describe("importing a JSON export", () => {
  it("adds a new conversation equal to the exported branch, with its settings and times", () => {
    const exported = exportConversation(store.view(id), "json", NOW).content;
    const { conversationId, notes } = importConversation(store, exported, () => true);
    expect(notes).toEqual([]);
    expect(conversationId).not.toBe(id);
    const original = store.view(id);
    const copy = store.view(conversationId);
    expect(copy.settings).toEqual(original.settings);
    expect(copy.title).toBe(original.title);
    expect(copy.createdAt).toBe(original.createdAt);
    const shape = (c: typeof copy) =>
      c.messages.map(({ role, content, model, stats, interruption, createdAt }) => ({
        role,
        content,
        model,
        stats,
        interruption,
        createdAt,
      }));
    expect(shape(copy)).toEqual(shape(original));
    // One branch: each message answers the one before it.
    expect(copy.messages.every((m, i) => m.parentId === (i === 0 ? null : copy.messages[i - 1].id))).toBe(
      true,
    );
    expect(
      store
        .search("alders", 10)
        .map((h) => h.conversationId)
        .sort(),
    ).toEqual([id, conversationId].sort());
  });

  it("falls back to the default model when the named one is not installed, and says so", () => {
    const exported = exportConversation(store.view(id), "json", NOW).content;
    const { conversationId, notes } = importConversation(store, exported, () => false);
    expect(store.view(conversationId).settings.model).toBeNull();
    expect(notes).toEqual([
      'The model "tiny" is not installed here, so the conversation will use the default model.',
    ]);
  });

  it.each([
    ["text that is not JSON", "# Trees by the river\n\nWillows.", /^This file is not JSON/],
    [
      "another program's JSON",
      JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
      /not an Elmwood conversation/,
    ],
    ["a JSON array", "[1, 2]", /not an Elmwood conversation/],
    [
      "a newer Elmwood's file",
      JSON.stringify({ format: FILE_FORMAT, version: 7 }),
      /newer Elmwood \(file version 7/,
    ],
  ])("refuses %s with one clear message", (_what, text, message) => {
    expect(() => parseConversationFile(text)).toThrow(message);
    try {
      parseConversationFile(text);
    } catch (error) {
      expect(error).toMatchObject({ code: "BAD_INPUT", hint: expect.any(String) });
    }
  });

  it("refuses a damaged file, naming the field, and adds nothing", () => {
    const data = JSON.parse(exportConversation(store.view(id), "json", NOW).content);
    data.messages[2].role = "wizard";
    const before = store.list(100, 0).total;
    expect(() => importConversation(store, JSON.stringify(data), () => true)).toThrow(
      /damaged: messages\[2\]\.role/,
    );
    data.messages[2].role = "user";
    data.settings.sampling.temperature = 99;
    expect(() => importConversation(store, JSON.stringify(data), () => true)).toThrow(
      /damaged: settings\.sampling\.temperature/,
    );
    expect(store.list(100, 0).total).toBe(before);
  });

  it("reads a file saved with a byte-order mark", () => {
    const exported = exportConversation(store.view(id), "json", NOW).content;
    expect(parseConversationFile(`\uFEFF${exported}`).title).toBe("Trees by the river");
  });
});
