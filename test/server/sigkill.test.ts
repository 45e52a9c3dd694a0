/**
 * `elmwood serve` killed with SIGKILL in the middle of a chat reply and an API generation, then
 * started again on the same profile: conversations, settings, the model store and the document
 * index are all as they were, and the database passes SQLite's integrity check.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../engine/store/database.ts";
import { MODEL, makeServiceFixture, type ServiceFixture } from "../service/fixture.ts";
import { callOver, openFeed, type ServeProcess, spawnServe } from "./serve-process.ts";

const API_TOKEN = "sigkill-test-token-0123456789";
const SERVE_ARGS = ["--api", "--model", MODEL, "--provider", "cpu", "--threads", "1"];

let fx: ServiceFixture;
let docs: string;
const running: ServeProcess[] = [];

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
  docs = join(fx.home, "..", "docs");
  await mkdir(docs, { recursive: true });
  await writeFile(
    join(docs, "birch.txt"),
    "The paper birch sheds its bark in thin white sheets every spring.\n",
  );
}, 300_000);

afterAll(async () => {
  for (const p of running)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await Promise.all(running.map((p) => p.exited));
  await fx?.cleanup();
});

async function serve(): Promise<ServeProcess> {
  const p = await spawnServe(SERVE_ARGS, { ELMWOOD_HOME: fx.home, ELMWOOD_API_TOKEN: API_TOKEN });
  running.push(p);
  return p;
}

/** What a person would notice is lost, read through the contract. */
async function snapshot(p: ServeProcess, conversationId: string) {
  const models = (await callOver(p, "models.list")) as { models: { name: string; bytes: number }[] };
  const documents = (await callOver(p, "documents.status")) as {
    folders: { path: string; indexed: number; chunks: number }[];
  };
  const search = (await callOver(p, "documents.search", { query: "birch bark" })) as {
    hits: { path: string }[];
  };
  return {
    conversation: await callOver(p, "conversations.get", { id: conversationId }),
    settings: await callOver(p, "settings.get"),
    models: models.models.map((m) => [m.name, m.bytes]),
    folders: documents.folders.map((f) => [f.path, f.indexed, f.chunks]),
    hits: search.hits.map((h) => h.path),
  };
}

describe("elmwood serve killed with SIGKILL mid-generation", () => {
  it("starts again with conversations, settings, models and the index intact", async () => {
    const first = await serve();
    const feed = await openFeed(first);

    await callOver(first, "settings.update", { theme: "dark", systemPrompt: "Answer briefly." });
    const kept = (await callOver(first, "conversations.create", {
      title: "Kept",
      settings: { sampling: { temperature: 0, maxTokens: 4 } },
    })) as { id: string };
    const sent = (await callOver(first, "chat.send", { conversationId: kept.id, content: "Hello" })) as {
      requestId: string;
    };
    await feed.next<{ requestId: string }>("chat.done", (e) => e.requestId === sent.requestId);
    await callOver(first, "documents.addFolder", { path: docs });
    await expect
      .poll(
        async () =>
          ((await callOver(first, "documents.status")) as { folders: { state: string }[] }).folders[0]?.state,
        {
          timeout: 60_000,
        },
      )
      .toBe("ready");
    const before = await snapshot(first, kept.id);
    expect(before.hits).toEqual([join(docs, "birch.txt")]);
    expect((before.conversation as { messages: unknown[] }).messages).toHaveLength(2);

    // Two generations in flight: a long chat reply and an API stream.
    const long = (await callOver(first, "chat.send", {
      content: "Tell me everything.",
      settings: { sampling: { temperature: 0, maxTokens: 2000 } },
    })) as { requestId: string; conversationId: string };
    await feed.next<{ requestId: string }>("chat.token", (e) => e.requestId === long.requestId);
    const client = new OpenAI({ baseURL: first.info.apiBaseUrl ?? "", apiKey: API_TOKEN, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Keep going." }],
      max_tokens: 1500,
      stream: true,
    });
    const reading = (async () => {
      let chunks = 0;
      try {
        for await (const _chunk of stream) chunks++;
      } catch {
        // The server died under it: that is the point.
      }
      return chunks;
    })();

    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    feed.close();
    expect(await reading).toBeLessThan(1500);

    // The database survived the kill whole.
    const db = openDatabase(join(fx.home, "elmwood.db"));
    try {
      const check = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      expect(check.integrity_check).toBe("ok");
    } finally {
      db.close();
    }

    const second = await serve();
    const after = await snapshot(second, kept.id);
    expect(after).toEqual(before);
    const list = (await callOver(second, "conversations.list")) as { conversations: { id: string }[] };
    expect(list.conversations.map((c) => c.id)).toEqual(
      expect.arrayContaining([kept.id, long.conversationId]),
    );
    // The interrupted conversation kept the question it was answering.
    const interrupted = (await callOver(second, "conversations.get", { id: long.conversationId })) as {
      messages: { role: string; content: string }[];
    };
    expect(interrupted.messages[0]).toMatchObject({ role: "user", content: "Tell me everything." });

    // And the engine works: the API answers again after the restart.
    const again = new OpenAI({ baseURL: second.info.apiBaseUrl ?? "", apiKey: API_TOKEN, maxRetries: 0 });
    const answer = await again.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Still there?" }],
      max_tokens: 3,
    });
    expect(answer.choices[0].message.content).toBeTypeOf("string");

    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
