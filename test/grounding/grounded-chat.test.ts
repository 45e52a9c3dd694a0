/**
 * Chat grounded in documents through the service, with a small random OpenELM model writing the
 * replies and a deterministic embedder for meaning: a conversation draws on an attached folder or
 * file, each turn is given the passages that fit beside the history, the reply keeps them numbered,
 * and the person can see and remove them.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SearchHit } from "../../engine/documents/search.ts";
import { ConversationGrounding, groundedQuestion } from "../../engine/grounding/ground-turn.ts";
import { GroundingStore } from "../../engine/grounding/store.ts";
import type { ElmwoodService } from "../../engine/service.ts";
import { openDatabase } from "../../engine/store/database.ts";
import { makeServiceFixture, nextEvent, replyTo, type ServiceFixture } from "../service/fixture.ts";
import { ConceptEmbedder } from "../support/concept-embedder.ts";

let fx: ServiceFixture;
let service: ElmwoodService;
let docs: string;

async function settled(): Promise<void> {
  for (;;) {
    // Listening before asking, so an event between the answer and the wait is not missed.
    const next = nextEvent(service, "documents.progress");
    const status = await service.call("documents.status", {});
    if (!status.indexing && status.meaning.state === "ready") return;
    await next;
  }
}

async function chatWith(path: string, maxTokens = 16): Promise<string> {
  const { id } = await service.call("conversations.create", {
    settings: { sampling: { temperature: 0, maxTokens } },
  });
  await service.call("conversations.attach", { id, path });
  await settled();
  return id;
}

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
  docs = join(fx.home, "..", "docs");
  await mkdir(join(docs, "bills"), { recursive: true });
  await mkdir(join(docs, "garden"), { recursive: true });
  await writeFile(
    join(docs, "bills", "march.txt"),
    "The billing statement for March is due on the fifth of April.\n",
  );
  await writeFile(
    join(docs, "bills", "phone.txt"),
    "The phone invoice lists three payments made in March.\n",
  );
  await writeFile(
    join(docs, "garden", "tulips.md"),
    "# Tulips\n\nTulips bloom in April when the garden warms.\n",
  );
  await writeFile(join(fx.home, "..", "loose-note.txt"), "A recipe: bake the bread in a hot oven.\n");
  service = fx.open({ embedder: new ConceptEmbedder() });
  await service.call("models.load", { provider: "cpu", threads: 1 });
}, 180_000);

afterAll(async () => {
  await service?.close();
  await fx?.cleanup();
});

describe("chat grounded in documents", () => {
  it("indexes an attached folder and gives each turn its best passages, numbered", async () => {
    const id = await chatWith(join(docs, "bills"));
    const conversation = await service.call("conversations.get", { id });
    expect(conversation.attachments).toEqual([
      expect.objectContaining({ path: join(docs, "bills"), kind: "folder" }),
    ]);
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId: id, content: "When is the bill due?" }),
    );
    const sources = reply.done?.message.sources ?? [];
    expect(sources.map((s) => s.n)).toEqual(sources.map((_, i) => i + 1));
    expect(sources[0]).toMatchObject({ path: join(docs, "bills", "march.txt"), excluded: false });
    expect(sources[0].snippet).toContain("billing statement");
    expect(sources.every((s) => s.path.startsWith(join(docs, "bills")))).toBe(true);
    // The passages went into the prompt (the stored message is as typed).
    const plain = await replyTo(
      service,
      service.call("chat.send", {
        content: "When is the bill due?",
        settings: { sampling: { temperature: 0, maxTokens: 16 } },
      }),
    );
    expect(reply.done?.message.stats?.promptTokens ?? 0).toBeGreaterThan(
      (plain.done?.message.stats?.promptTokens ?? 0) + 20,
    );
    const again = await service.call("conversations.get", { id });
    expect(again.messages[0].content).toBe("When is the bill due?");
    expect(again.messages[1].sources).toEqual(sources);
  });

  it("fits fewer passages when the reply may be long, never more than the window holds", async () => {
    const roomy = await chatWith(join(docs, "bills"), 16);
    const tight = await chatWith(join(docs, "bills"), 1990);
    const many = await replyTo(
      service,
      service.call("chat.send", { conversationId: roomy, content: "invoice payments" }),
    );
    const few = await replyTo(
      service,
      service.call("chat.send", { conversationId: tight, content: "invoice payments" }),
    );
    expect(many.done?.message.sources?.length).toBe(2);
    expect(few.done?.message.sources?.length ?? 0).toBeLessThan(2);
    expect(few.error).toBeUndefined();
  });

  it("leaves a removed passage out of later turns, and shows it as removed", async () => {
    const id = await chatWith(join(docs, "bills"));
    const first = await replyTo(
      service,
      service.call("chat.send", { conversationId: id, content: "When is the bill due?" }),
    );
    const message = first.done?.message;
    if (!message?.sources?.length) throw new Error("the first turn should have sources");
    const removed = message.sources[0];
    const { sources } = await service.call("conversations.excludeSource", {
      id,
      messageId: message.id,
      n: removed.n,
    });
    expect(sources.find((s) => s.n === removed.n)?.excluded).toBe(true);
    const second = await replyTo(
      service,
      service.call("chat.send", { conversationId: id, content: "When is the bill due?" }),
    );
    expect(second.done?.message.sources?.map((s) => s.path)).not.toContain(removed.path);
    await expect(
      service.call("conversations.excludeSource", { id, messageId: message.id, n: 99 }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("draws on a single attached file, indexed on its own", async () => {
    const file = join(fx.home, "..", "loose-note.txt");
    const id = await chatWith(file);
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId: id, content: "How do I bake bread?" }),
    );
    expect(reply.done?.message.sources?.map((s) => s.path)).toEqual([file]);
    const { folders } = await service.call("documents.status", {});
    expect(folders.map((f) => f.path)).toContain(file);
  });

  it("stops drawing on what was detached", async () => {
    const id = await chatWith(join(docs, "garden"));
    const { attachments } = await service.call("conversations.detach", { id, path: join(docs, "garden") });
    expect(attachments).toEqual([]);
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId: id, content: "tulips" }),
    );
    expect(reply.done?.message.sources).toBeUndefined();
  });

  it("refuses to attach what is not there, saying what to do", async () => {
    const { id } = await service.call("conversations.create", {});
    await expect(
      service.call("conversations.attach", { id, path: join(docs, "nothing-here") }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
      hint: expect.stringContaining("drop the document"),
    });
  });
});

describe("the retrieval step", () => {
  const hit = (n: number, words: number): SearchHit => ({
    chunkId: n,
    path: `/docs/${n}.txt`,
    kind: "text",
    location: "",
    page: null,
    lines: null,
    score: 1,
    matched: "both",
    similarity: 0.9,
    snippet: "",
    highlights: [],
    text: `passage ${n} ${"word ".repeat(words)}`.trim(),
    modifiedMs: 0,
  });

  it("takes the best passages while they fit, cuts the best one when it alone is too long, and records them", async () => {
    const dir = join(fx.home, "..", "grounding-unit");
    await mkdir(dir, { recursive: true });
    const db = openDatabase(join(dir, "unit.db"));
    try {
      db.prepare(
        "INSERT INTO chat_conversations (id, title, sampling, created_at, updated_at) VALUES ('c1', '', '{}', 0, 0)",
      ).run();
      const store = new GroundingStore(db);
      store.attach("c1", "/docs", "folder");
      const grounding = new ConversationGrounding(store, async () => [hit(1, 20), hit(2, 20), hit(3, 20)]);
      expect(grounding.draws("c1")).toBe(true);
      const budget = (chars: number) => (content: string) => content.length <= chars;
      const two = groundedQuestion("q?", [
        { n: 1, chunkId: 1, path: "/docs/1.txt", location: "", snippet: "", text: hit(1, 20).text },
        { n: 2, chunkId: 2, path: "/docs/2.txt", location: "", snippet: "", text: hit(2, 20).text },
      ]).length;
      const content = await grounding.ground({
        conversationId: "c1",
        replyId: "r1",
        question: "q?",
        fits: budget(two),
      });
      expect(content).toContain("[1] /docs/1.txt");
      expect(content).toContain("[2] /docs/2.txt");
      expect(content).not.toContain("[3] /docs/3.txt");
      expect(content?.endsWith("Question: q?")).toBe(true);
      expect(store.source("r1", 2)?.path).toBe("/docs/2.txt");
      expect(store.source("r1", 3)).toBeUndefined();

      const long = new ConversationGrounding(store, async () => [hit(1, 300), hit(2, 20)]);
      const tiny = await long.ground({
        conversationId: "c1",
        replyId: "r2",
        question: "q?",
        fits: budget(900),
      });
      expect(tiny).toContain("[1] /docs/1.txt");
      expect(tiny?.length).toBeLessThanOrEqual(900);
      expect(store.source("r2", 1)?.text.endsWith("…")).toBe(true);

      store.detach("c1", "/docs");
      expect(grounding.draws("c1")).toBe(false);
      expect(
        await grounding.ground({ conversationId: "c1", replyId: "r3", question: "q?", fits: () => true }),
      ).toBeNull();
    } finally {
      db.close();
    }
  });
});
