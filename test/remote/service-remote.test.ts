/**
 * A remote engine through the engine service, with no model installed: added, checked and listed;
 * chat (streaming, stop, regenerate, edit), completions, summaries and answers written by it; and
 * every way it can fail ending in a message, with no conversation lost. The engine is the fake
 * OpenAI-compatible server; Elmwood's own server plays the engine in real-engine.test.ts.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EventPayload } from "../../engine/api/contract.ts";
import type { ElmwoodService } from "../../engine/service.ts";
import { makeServiceFixture, nextEvent, replyTo, type ServiceFixture } from "../service/fixture.ts";
import { closedPort, FakeOpenAi, json, startStream } from "./fake-openai.ts";

const KEY = "sk-test-0123456789abcdef";
const MODEL = "fake/fake-chat";

let fx: ServiceFixture;
let service: ElmwoodService;
let fake: FakeOpenAi;
const changes: EventPayload<"engines.changed">[] = [];

beforeAll(async () => {
  fake = await FakeOpenAi.start();
  fx = await makeServiceFixture({ withModel: false });
  // A busy engine is asked again at once here; client.test.ts checks the waits themselves.
  service = fx.open({ remoteRetry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 60_000 } });
  service.on("engines.changed", (e) => changes.push(e));
});

afterAll(async () => {
  await service?.close();
  await fake?.close();
  await fx?.cleanup();
});

afterEach(() => {
  const key = fake.key;
  fake.reset();
  fake.key = key;
});

const short = { temperature: 0, maxTokens: 64 };

describe("adding an engine", () => {
  it("has no engine and no remote model until one is added", async () => {
    expect(await service.call("engines.list", {})).toEqual({ engines: [], problem: null });
    expect((await service.call("models.list", {})).remote).toEqual([]);
    expect((await service.call("status.get", {})).remote).toEqual({ inUse: [] });
  });

  it("refuses an address where nothing answers, and keeps nothing", async () => {
    const port = await closedPort();
    await expect(service.call("engines.add", { baseUrl: `http://127.0.0.1:${port}` })).rejects.toMatchObject({
      code: "NETWORK",
      message: expect.stringContaining("connection refused"),
    });
    expect((await service.call("engines.list", {})).engines).toEqual([]);
  });

  it("refuses plain http to another machine unless the person agreed, before connecting anywhere", async () => {
    await expect(
      service.call("engines.add", { baseUrl: "http://gpu-box.invalid:8000/v1" }),
    ).rejects.toMatchObject({ code: "BAD_INPUT", message: expect.stringContaining("unencrypted") });
    // With the agreement it goes on to check the engine (which here does not exist).
    await expect(
      service.call("engines.add", { baseUrl: "http://gpu-box.invalid:8000/v1", allowUnencrypted: true }),
    ).rejects.toMatchObject({ code: "NETWORK", message: expect.stringContaining("could not be found") });
  });

  it("says when the engine needs a key the person did not give", async () => {
    fake.key = KEY;
    await expect(service.call("engines.add", { baseUrl: fake.url, name: "fake" })).rejects.toMatchObject({
      code: "NETWORK",
      message: expect.stringContaining("401"),
    });
    expect((await service.call("engines.list", {})).engines).toEqual([]);
  });

  it("checks the engine, lists its models with their windows, and keeps the key out of every answer", async () => {
    const engine = await service.call("engines.add", { baseUrl: fake.url, name: "fake", apiKey: KEY });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1/models"]);
    expect(fake.requests[0].headers.authorization).toBe(`Bearer ${KEY}`);
    expect(engine).toMatchObject({
      name: "fake",
      baseUrl: fake.url,
      host: `127.0.0.1:${fake.port}`,
      unencrypted: false,
      hasKey: true,
      keyStorage: "file",
      error: null,
    });
    expect(engine.models).toEqual([
      expect.objectContaining({ name: "fake/fake-chat", contextLength: 8192, contextSource: "engine" }),
      expect.objectContaining({ name: "fake/fake/small-v1", contextLength: 4096, contextSource: "assumed" }),
    ]);
    const everything = JSON.stringify([
      engine,
      await service.call("engines.list", {}),
      await service.call("models.list", {}),
      changes,
    ]);
    expect(everything).not.toContain(KEY);
    // Kept apart, in a file only its owner may read; the engines file has no key in it.
    const keyFile = join(fx.home, "engine-keys.json");
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile, "utf8")).toContain(KEY);
    expect(await readFile(join(fx.home, "engines.json"), "utf8")).not.toContain(KEY);
  });

  it("uses the window the person sets for models whose engine reports none", async () => {
    const engine = await service.call("engines.update", { name: "fake", contextLength: 32_768 });
    expect(engine.models.map((m) => [m.name, m.contextLength, m.contextSource])).toEqual([
      ["fake/fake-chat", 8192, "engine"],
      ["fake/fake/small-v1", 32_768, "settings"],
    ]);
  });

  it("refreshes the list when asked, and keeps the old one with the reason when that fails", async () => {
    fake.models = [
      { id: "fake-chat", max_model_len: 8192 },
      { id: "newcomer", max_model_len: 2048 },
    ];
    const engine = await service.call("engines.refresh", { name: "fake" });
    expect(engine.models.map((m) => m.name)).toEqual(["fake/fake-chat", "fake/newcomer"]);
    const real = fake.key;
    fake.key = "rotated";
    await expect(service.call("engines.refresh", { name: "fake" })).rejects.toMatchObject({
      code: "NETWORK",
    });
    const [kept] = (await service.call("engines.list", {})).engines;
    expect(kept.models.map((m) => m.name)).toEqual(["fake/fake-chat", "fake/newcomer"]);
    expect(kept.error).toMatchObject({ code: "NETWORK", message: expect.stringContaining("401") });
    fake.key = real;
    await service.call("engines.refresh", { name: "fake" });
  });

  it("refuses a second engine of the same name or address", async () => {
    await expect(service.call("engines.add", { baseUrl: fake.url })).rejects.toMatchObject({
      message: expect.stringContaining("already added, as 'fake'"),
    });
  });
});

describe("chat with a remote model", () => {
  let conversationId: string;

  it("streams the reply, sends the engine messages (not token ids) and saves the engine's counts", async () => {
    const conversation = await service.call("conversations.create", {
      settings: { model: MODEL, systemPrompt: "Be brief.", sampling: short },
    });
    conversationId = conversation.id;
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId, content: "Hello there" }),
    );
    const expected = FakeOpenAi.replyTo({ messages: [{ content: "Hello there" }] });
    expect(reply.text).toBe(expected);
    expect(reply.done?.message).toMatchObject({
      content: expected,
      model: MODEL,
      interruption: null,
      stats: { promptTokens: 11, finishReason: "eos" },
    });
    expect(reply.done?.message.stats?.estimated).toBeUndefined();
    const [sent] = fake.generations;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.body).toMatchObject({
      model: "fake-chat",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hello there" },
      ],
      max_tokens: 64,
      temperature: 0,
      stream: true,
    });
    // OpenELM's own sampling knobs are not the OpenAI API's: they are not sent.
    expect(sent.body).not.toHaveProperty("repetition_penalty");
    expect(sent.body).not.toHaveProperty("top_k");
  });

  it("sends the whole branch on the next turn, earlier replies as their text", async () => {
    await replyTo(service, service.call("chat.send", { conversationId, content: "And then?" }));
    const messages = fake.generations[0].body?.messages as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(messages[2].content).toBe(FakeOpenAi.replyTo({ messages: [{ content: "Hello there" }] }));
  });

  it("never sends a draft to the engine: chat.prepare does nothing for a remote model", async () => {
    const before = fake.requests.length;
    expect(await service.call("chat.prepare", { conversationId, content: "A secret draft" })).toEqual({
      prepared: false,
    });
    expect(fake.requests.length).toBe(before);
  });

  it("regenerates a reply beside the old one, from the same messages", async () => {
    const view = await service.call("conversations.get", { id: conversationId });
    const last = view.messages.at(-1);
    const reply = await replyTo(
      service,
      service.call("chat.regenerate", { conversationId, messageId: last?.id ?? "" }),
    );
    expect(reply.done?.message.siblingIds).toHaveLength(2);
    const messages = fake.generations[0].body?.messages as { content: string }[];
    expect(messages.at(-1)?.content).toBe("And then?");
  });

  it("edits a message into a new branch: the engine sees the edit and not the old reply", async () => {
    const view = await service.call("conversations.get", { id: conversationId });
    const question = view.messages.find((m) => m.content === "And then?");
    const reply = await replyTo(
      service,
      service.call("chat.edit", { conversationId, messageId: question?.id ?? "", content: "What next?" }),
    );
    expect(reply.done?.message.content).toContain("What next?");
    const messages = fake.generations[0].body?.messages as { content: string }[];
    expect(messages.map((m) => m.content)).not.toContain("And then?");
    expect(messages.at(-1)?.content).toBe("What next?");
  });

  it("stops: the HTTP request is aborted and what was written is kept", async () => {
    fake.wordDelayMs = 60;
    let stopped = false;
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId, content: "Go on" }),
      (n) => {
        if (n >= 2 && !stopped) {
          stopped = true;
          void service.call("chat.stop", { conversationId });
        }
      },
    );
    expect(reply.done?.message.stats?.finishReason).toBe("cancelled");
    expect(reply.done?.message.content.length).toBeGreaterThan(0);
    expect(reply.done?.message.interruption).toBeNull();
    await expect.poll(() => fake.generations[0].aborted).toBe(true);
  });

  it("says 'sent to' the engine's host in the status while the reply is written", async () => {
    fake.wordDelayMs = 40;
    const inUse = nextEvent(service, "status.changed", (s) => s.remote.inUse.length > 0);
    const reply = replyTo(service, service.call("chat.send", { conversationId, content: "Who listens?" }));
    expect((await inUse).remote.inUse).toEqual([{ model: MODEL, host: `127.0.0.1:${fake.port}` }]);
    await reply;
    await expect.poll(async () => (await service.call("status.get", {})).remote.inUse).toEqual([]);
  });

  it("keeps the text of a reply whose stream is cut, marked as interrupted, with Regenerate as the way on", async () => {
    fake.next((_req, res) => {
      startStream(res, ["The first ", "words "]);
      setTimeout(() => res.socket?.destroy(), 30);
      return true;
    });
    const reply = await replyTo(service, service.call("chat.send", { conversationId, content: "Tell me" }));
    expect(reply.done?.message).toMatchObject({
      content: "The first words ",
      interruption: { cause: "connection-lost", message: expect.stringContaining("closed the connection") },
    });
    expect(reply.done?.message.interruption?.message).toMatch(/What it wrote is kept/);
  });

  it("fails a reply whose stream breaks before any text with the reason, keeping the question", async () => {
    fake.next((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end("data: {nonsense\n\n");
      return true;
    });
    const reply = await replyTo(service, service.call("chat.send", { conversationId, content: "Lost?" }));
    expect(reply.error?.error).toMatchObject({
      code: "NETWORK",
      message: expect.stringContaining("not JSON"),
    });
    const view = await service.call("conversations.get", { id: conversationId });
    expect(view.messages.at(-1)).toMatchObject({ role: "user", content: "Lost?" });
  });

  it("asks a busy engine again and writes the reply", async () => {
    fake.next((_req, res) => {
      json(res, 503, { error: { message: "warming up" } });
      return true;
    });
    const reply = await replyTo(service, service.call("chat.send", { conversationId, content: "Busy?" }));
    expect(reply.done?.message.content).toContain("Busy?");
    expect(fake.generations).toHaveLength(2);
  });

  it("marks the counts as estimates when the engine reports no usage", async () => {
    fake.reportUsage = false;
    const reply = await replyTo(service, service.call("chat.send", { conversationId, content: "Count me" }));
    expect(reply.done?.message.stats).toMatchObject({ estimated: true });
    expect(reply.done?.message.stats?.completionTokens).toBeGreaterThan(3);
  });

  it("refuses, before sending, a conversation that cannot fit the window, saying the size is estimated", async () => {
    await service.call("engines.refresh", { name: "fake" });
    await service.call("engines.update", { name: "fake", contextLength: 300 });
    const small = await service.call("conversations.create", {
      settings: { model: "fake/fake/small-v1", sampling: { maxTokens: 200 } },
    });
    const before = fake.generations.length;
    await expect(
      service.call("chat.send", { conversationId: small.id, content: "word ".repeat(200) }),
    ).rejects.toMatchObject({ code: "CONTEXT_OVERFLOW", message: expect.stringContaining("(estimated)") });
    expect(fake.generations.length).toBe(before);
    await service.call("engines.update", { name: "fake", contextLength: null });
  });

  it("says a model its engine no longer lists is gone, and how to refresh", async () => {
    const gone = await service.call("conversations.create", { settings: { model: "fake/retired" } });
    await expect(service.call("chat.send", { conversationId: gone.id, content: "Hi" })).rejects.toMatchObject(
      {
        code: "NOT_FOUND",
        hint: expect.stringContaining("elmwood engines refresh fake"),
      },
    );
  });

  it("exports a conversation with the model's name, and nothing of the engine's key", async () => {
    const file = await service.call("conversations.export", { id: conversationId, format: "json" });
    expect(file.content).toContain(MODEL);
    expect(file.content).not.toContain(KEY);
  });
});

describe("everything else through a remote model", () => {
  it("answers completions.create (what the local API forwards), raw prompts at /v1/completions", async () => {
    const done = nextEvent(service, "completion.done");
    const { model } = await service.call("completions.create", {
      model: MODEL,
      prompt: "Once",
      sampling: short,
    });
    expect(model).toBe(MODEL);
    expect((await done).text).toBe(FakeOpenAi.replyTo({ prompt: "Once" }));
    expect(fake.generations[0]).toMatchObject({ path: "/v1/completions", body: { prompt: "Once" } });
  });

  it("ends a forwarded completion whose stream broke in an error, never as a whole answer", async () => {
    fake.next((_req, res) => {
      startStream(res, ["Par"]);
      res.end();
      return true;
    });
    const failed = nextEvent(service, "completion.error");
    await service.call("completions.create", { model: MODEL, messages: [{ role: "user", content: "x" }] });
    expect((await failed).error).toMatchObject({
      code: "CANCELLED",
      message: expect.stringContaining("cut short"),
    });
  });

  it("summarizes with a remote default model, greedily", async () => {
    await service.call("models.setDefault", { name: MODEL });
    expect((await service.call("models.list", {})).defaultModel).toBe(MODEL);
    const ended = nextEvent(service, "summary.progress", (e) => ["done", "error"].includes(e.event.type));
    await service.call("documents.summarize", { text: "Birches shed bark. ".repeat(30), name: "birch.txt" });
    const end = await ended;
    expect(end.event.type).toBe("done");
    expect(fake.generations.length).toBeGreaterThan(0);
    for (const request of fake.generations)
      expect(request.body).toMatchObject({ model: "fake-chat", temperature: 0 });
  });

  it("answers 'Ask about these results' with the remote model, citing the results", async () => {
    const folder = join(fx.home, "notes");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "birch.md"), "# Birch\n\nThe paper birch sheds its bark in spring.\n");
    const idle = nextEvent(service, "documents.progress", (e) => e.type === "idle");
    await service.call("documents.addFolder", { path: folder });
    await idle;
    fake.next((_req, res, body) => {
      const prompt = JSON.stringify(body.messages);
      startStream(res, [prompt.includes("paper birch") ? "In spring [1]." : "No idea."]);
      res.end(
        `data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`,
      );
      return true;
    });
    const ended = nextEvent(service, "answer.progress", (e) => ["done", "error"].includes(e.event.type));
    await service.call("documents.ask", { question: "When does the birch shed its bark?" });
    const end = await ended;
    expect(end.event).toMatchObject({ type: "done", answer: { answer: "In spring [1].", notFound: false } });
    expect(end.event.type === "done" && end.event.answer.citations[0].source.path).toBe(
      join(folder, "birch.md"),
    );
  });

  it("refuses a remote default its engine does not list, keeping the one chosen", async () => {
    await expect(service.call("models.setDefault", { name: "fake/retired" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    expect((await service.call("models.list", {})).defaultModel).toBe(MODEL);
  });
});

describe("removing the engine", () => {
  it("stops a reply it is writing (keeping it, saying why), and forgets its models and key", async () => {
    fake.wordDelayMs = 80;
    const conversation = await service.call("conversations.create", { settings: { model: MODEL } });
    let removing: Promise<unknown> | undefined;
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId: conversation.id, content: "A long one" }),
      (n) => {
        if (n >= 2) removing ??= service.call("engines.remove", { name: "fake" });
      },
    );
    await removing;
    expect(reply.done?.message.interruption).toMatchObject({ cause: "engine-removed" });
    expect(reply.done?.message.content.length).toBeGreaterThan(0);
    expect((await service.call("engines.list", {})).engines).toEqual([]);
    expect((await service.call("models.list", {})).defaultModel).toBeNull();
    expect(await readFile(join(fx.home, "engine-keys.json"), "utf8")).not.toContain(KEY);
    await expect(
      service.call("chat.send", { conversationId: conversation.id, content: "Still there?" }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("no engine named 'fake'"),
    });
  });
});
