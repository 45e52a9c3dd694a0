import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toSamplingOptions } from "../../engine/chat/chat-engine.ts";
import type { ElmwoodService } from "../../engine/service.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";
import { MODEL, makeServiceFixture, nextEvent, replyTo, type ServiceFixture } from "./fixture.ts";

/** Greedy, short replies: the random model rarely ends a reply itself. */
const SHORT = { temperature: 0, maxTokens: 8 };

let fx: ServiceFixture;
let service: ElmwoodService;

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
  service = fx.open();
  await service.call("models.load", { provider: "cpu", threads: 1 });
}, 120_000);

afterAll(async () => {
  await service?.close();
  await fx?.cleanup();
});

async function newChat(maxTokens = SHORT.maxTokens) {
  const conversation = await service.call("conversations.create", {
    settings: { sampling: { ...SHORT, maxTokens } },
  });
  return conversation.id;
}

describe("the engine service with a model", () => {
  it("remembers the provider and threads models.load was given, and reports them", async () => {
    const status = await service.call("status.get", {});
    expect(status.model).toMatchObject({ state: "ready", name: MODEL, threads: 1, providerChoice: "cpu" });
    expect(status.model.provider?.name).toBe("cpu");
    expect(status.model.provider?.reason).toBeTruthy();
    expect(await service.call("settings.get", {})).toMatchObject({ provider: "cpu", threads: 1 });
  });

  it("streams a reply as chat.token events and saves it with its stats", async () => {
    const conversationId = await newChat();
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId, content: "Hello there" }),
    );
    expect(reply.error).toBeUndefined();
    const message = reply.done?.message;
    expect(message?.content).toBe(reply.text);
    expect(message?.id).toBe(reply.start.assistantMessageId);
    expect(message?.stats).toMatchObject({ completionTokens: 8, finishReason: "length" });
    const view = await service.call("conversations.get", { id: conversationId });
    expect(view.title).toBe("Hello there");
    expect(view.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "Hello there"],
      ["assistant", reply.text],
    ]);
  });

  it("a second turn's prompt extends the first exchange, so the prefix cache covers it", async () => {
    const conversationId = await newChat();
    const first = await replyTo(service, service.call("chat.send", { conversationId, content: "One" }));
    const second = await replyTo(service, service.call("chat.send", { conversationId, content: "Two" }));
    const a = first.done?.message.stats;
    const b = second.done?.message.stats;
    if (!a || !b) throw new Error("both turns should finish");
    // The first reply's last token was chosen but never run through the model (it hit the length
    // limit), so it is the one token of the exchange the cache cannot hold.
    expect(b.reusedTokens).toBe(a.promptTokens + a.completionTokens - 1);
  });

  it("chat.prepare reads the message being typed ahead, so the reply computes only its last token", async () => {
    const conversationId = await newChat();
    const first = await replyTo(service, service.call("chat.send", { conversationId, content: "One" }));
    expect(first.error).toBeUndefined();
    // Right after a reply, with nothing typed yet, the conversation so far is read.
    expect(await service.call("chat.prepare", { conversationId, content: "" })).toEqual({ prepared: true });
    expect(await service.call("chat.prepare", { conversationId, content: "Two, and" })).toEqual({
      prepared: true,
    });
    expect(await service.call("chat.prepare", { conversationId, content: "Two, and three" })).toEqual({
      prepared: true,
    });
    const second = await replyTo(
      service,
      service.call("chat.send", { conversationId, content: "Two, and three" }),
    );
    const stats = second.done?.message.stats;
    if (!stats) throw new Error("the second turn should finish");
    // The last prompt token runs again to give the reply's first logits; all before it was cached.
    expect(stats.reusedTokens).toBe(stats.promptTokens - 1);
  });

  it("chat.prepare does nothing when Read ahead is turned off in the settings", async () => {
    const conversationId = await newChat();
    await service.call("settings.update", { readAhead: false });
    try {
      expect(await service.call("chat.prepare", { conversationId, content: "Hi" })).toEqual({
        prepared: false,
      });
    } finally {
      await service.call("settings.update", { readAhead: true });
    }
    expect(await service.call("chat.prepare", { conversationId, content: "Hi" })).toEqual({ prepared: true });
  });

  it("chat.prepare does nothing for a model not in memory, and refuses an unknown conversation", async () => {
    const conversationId = await newChat();
    await expect(
      service.call("chat.prepare", { conversationId: "no-such-conversation", content: "Hi" }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    await service.call("models.unload", {});
    try {
      expect(await service.call("chat.prepare", { conversationId, content: "Hi" })).toEqual({
        prepared: false,
      });
      // Typing loaded nothing.
      expect((await service.call("status.get", {})).model.state).toBe("unloaded");
    } finally {
      await service.call("models.load", { provider: "cpu", threads: 1 });
    }
  });

  it("chat.stop ends a reply early and saves what was written, marked cancelled", async () => {
    const conversationId = await newChat(1500);
    let stopped = false;
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId, content: "Tell me a long story" }),
      (tokens) => {
        if (tokens >= 3 && !stopped) {
          stopped = true;
          void service.call("chat.stop", { conversationId });
        }
      },
    );
    const stats = reply.done?.message.stats;
    expect(stats?.finishReason).toBe("cancelled");
    expect(stats?.completionTokens).toBeGreaterThanOrEqual(3);
    expect(stats?.completionTokens).toBeLessThan(1500);
    const view = await service.call("conversations.get", { id: conversationId });
    expect(view.messages.at(-1)?.content).toBe(reply.text);
  });

  it("regenerate adds a sibling reply and keeps the old one", async () => {
    const conversationId = await newChat();
    const first = await replyTo(service, service.call("chat.send", { conversationId, content: "Hi" }));
    const oldId = first.done?.message.id ?? "";
    const again = await replyTo(
      service,
      service.call("chat.regenerate", { conversationId, messageId: oldId }),
    );
    const message = again.done?.message;
    expect(message?.siblingIds).toEqual([oldId, message?.id]);
    expect(message?.siblingIndex).toBe(1);
    const view = await service.call("conversations.get", { id: conversationId });
    expect(view.messages.map((m) => m.id)).toEqual([first.start.userMessage.id, message?.id]);
  });

  it("editing a message forks a branch; switching back shows the old branch again", async () => {
    const conversationId = await newChat();
    const original = await replyTo(
      service,
      service.call("chat.send", { conversationId, content: "Version one" }),
    );
    const userId = original.start.userMessage.id;
    const edited = await replyTo(
      service,
      service.call("chat.edit", { conversationId, messageId: userId, content: "Version two" }),
    );
    expect(edited.start.userMessage.siblingIds).toEqual([userId, edited.start.userMessage.id]);
    let view = await service.call("conversations.get", { id: conversationId });
    expect(view.messages.map((m) => m.content)).toEqual(["Version two", edited.text]);

    view = await service.call("chat.switchBranch", { conversationId, messageId: userId });
    expect(view.messages.map((m) => m.id)).toEqual([userId, original.done?.message.id]);
    expect(view.messages[0].siblingIndex).toBe(0);
  });

  it("a conversation and its branches survive a restart", async () => {
    const conversationId = await newChat();
    await replyTo(service, service.call("chat.send", { conversationId, content: "Remember me" }));
    const before = await service.call("conversations.get", { id: conversationId });
    await service.close();
    service = fx.open();
    const list = await service.call("conversations.list", {});
    expect(list.conversations.map((c) => c.id)).toContain(conversationId);
    expect(await service.call("conversations.get", { id: conversationId })).toEqual(before);
    const hits = await service.call("conversations.search", { query: "remember" });
    expect(hits.hits[0]?.conversationId).toBe(conversationId);
  });

  it("a conversation longer than the window is refused, saying the oldest message would not fit", async () => {
    const conversationId = await newChat();
    await replyTo(service, service.call("chat.send", { conversationId, content: "word ".repeat(600) }));
    await service.call("conversations.updateSettings", { id: conversationId, sampling: { maxTokens: 1500 } });
    const before = await service.call("conversations.get", { id: conversationId });
    await expect(service.call("chat.send", { conversationId, content: "and more" })).rejects.toMatchObject({
      code: "CONTEXT_OVERFLOW",
      // 600 words then an 8-token reply: with 1500 tokens kept for the reply, only the first must go.
      message: expect.stringMatching(/the oldest message would have to be left out/),
    });
    expect(await service.call("conversations.get", { id: conversationId })).toEqual(before);
  });

  it("completions.create streams a reply without saving a conversation", async () => {
    const { total } = await service.call("conversations.list", {});
    const done = nextEvent(service, "completion.done");
    const tokens: string[] = [];
    const off = service.on("completion.token", (e) => tokens.push(e.delta));
    const { requestId, model } = await service.call("completions.create", {
      messages: [{ role: "user", content: "Hi" }],
      sampling: SHORT,
    });
    const result = await done;
    off();
    expect(model).toBe(MODEL);
    expect(result).toMatchObject({ requestId, finishReason: "length", usage: { completionTokens: 8 } });
    expect(tokens.join("")).toBe(result.text);
    expect((await service.call("conversations.list", {})).total).toBe(total);
  });

  it("completions.create with a raw prompt continues the text as written, with no chat template", async () => {
    const prompt = "Once upon a time";
    const done = nextEvent(service, "completion.done");
    await service.call("completions.create", { prompt, sampling: SHORT });
    const result = await done;
    // The same request straight to the loaded model: BOS, the prompt's tokens, greedy.
    const host = service.models.loaded?.host;
    const { sampling } = await service.call("settings.get", {});
    const ids = llamaTokenizer().encode(prompt, { bos: true });
    const direct = await host?.generate({
      prompt: { kind: "tokens", ids, continues: ids },
      maxNewTokens: SHORT.maxTokens,
      sampling: toSamplingOptions({ ...sampling, ...SHORT }),
    });
    expect(result.usage.promptTokens).toBe(5);
    expect(result.text).toBe(direct?.text);
  });

  it("completions.create refuses both messages and a prompt, naming the field", async () => {
    await expect(
      service.call("completions.create", { prompt: "x", messages: [{ role: "user", content: "y" }] }),
    ).rejects.toMatchObject({ code: "BAD_INPUT" });
  });

  it("documents.summarize summarizes dropped text with the loaded model and reports each step", async () => {
    const steps: string[] = [];
    const off = service.on("summary.progress", (e) => steps.push(e.event.type));
    const ended = nextEvent(service, "summary.progress", (e) => ["done", "error"].includes(e.event.type));
    const { jobId } = await service.call("documents.summarize", {
      text: "Elmwood runs OpenELM on your own machine. ".repeat(20),
      name: "note.txt",
      style: "short",
    });
    const end = await ended;
    off();
    expect(end).toMatchObject({ jobId, source: "note.txt", event: { type: "done" } });
    expect(steps[0]).toBe("progress");
  });
});
