/**
 * Taking the model away while a reply is being written: switching to another model, restarting it
 * on other device settings, unloading or removing it stops the reply cleanly, keeps everything it
 * wrote and says why; a reply that merely needs another model waits for the one in progress.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallInput, EventPayload } from "../../engine/api/contract.ts";
import type { ElmwoodService } from "../../engine/service.ts";
import { MODEL, makeServiceFixture, nextEvent, replyTo, type ServiceFixture } from "./fixture.ts";

const OTHER = "tiny-two";

let fx: ServiceFixture;
let service: ElmwoodService;

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
  service = fx.open();
  const installed = nextEvent(service, "models.progress", (e) =>
    ["finished", "failed"].includes(e.progress.type),
  );
  await service.call("models.import", { path: fx.checkpoint, name: OTHER, precision: "fp32" });
  expect((await installed).progress.type).toBe("finished");
  await service.call("models.setDefault", { name: MODEL });
}, 300_000);

afterAll(async () => {
  await service?.close();
  await fx?.cleanup();
});

async function newChat(maxTokens: number, model?: string) {
  const conversation = await service.call("conversations.create", {
    settings: { sampling: { temperature: 0, maxTokens }, ...(model ? { model } : {}) },
  });
  return conversation.id;
}

/**
 * Sends a long message and, once three tokens have streamed, does `act` (as a person would click
 * while the reply is being written); returns the reply and what `act` answered.
 */
async function interruptWith<T>(act: () => Promise<T>) {
  await service.call("models.load", { name: MODEL, provider: "cpu", threads: 1 });
  const conversationId = await newChat(1500);
  let acted: Promise<T> | undefined;
  const reply = await replyTo(
    service,
    service.call("chat.send", { conversationId, content: "Tell me a long story" }),
    (tokens) => {
      if (tokens >= 3 && !acted) acted = act();
    },
  );
  if (!acted) throw new Error("the reply ended before three tokens");
  return { conversationId, reply, answer: await acted };
}

async function savedLast(conversationId: string) {
  return (await service.call("conversations.get", { id: conversationId })).messages.at(-1);
}

describe("the model taken away while a reply is being written", () => {
  it("switching to another model stops the reply, keeps all it wrote, and says which model took over", async () => {
    const { conversationId, reply, answer } = await interruptWith(() =>
      service.call("models.load", { name: OTHER }),
    );
    const message = reply.done?.message;
    expect(reply.error).toBeUndefined();
    expect(message?.content).toBe(reply.text);
    expect(message?.stats?.finishReason).toBe("cancelled");
    expect(message?.stats?.completionTokens).toBeGreaterThanOrEqual(3);
    expect(message?.interruption).toMatchObject({ cause: "model-switched", model: OTHER });
    expect(message?.interruption?.message).toContain(`switched to ${OTHER}`);
    expect(answer).toMatchObject({ state: "ready", name: OTHER });
    expect(await savedLast(conversationId)).toEqual(message);
  });

  it("restarting the model on other device settings stops the reply and says so", async () => {
    const { reply, answer } = await interruptWith(() => service.call("models.load", { threads: 2 }));
    expect(reply.done?.message.content).toBe(reply.text);
    expect(reply.done?.message.interruption).toMatchObject({ cause: "model-reloaded", model: null });
    expect(answer).toMatchObject({ state: "ready", name: MODEL, threads: 2 });
  });

  it("unloading the model stops the reply and keeps what it wrote", async () => {
    const { conversationId, reply, answer } = await interruptWith(() => service.call("models.unload", {}));
    expect(reply.done?.message.interruption?.cause).toBe("model-unloaded");
    expect((await savedLast(conversationId))?.content).toBe(reply.text);
    expect(answer.state).not.toBe("ready");
  });

  it("a reply waiting its turn when the model is unloaded ends with a clear error, its question kept", async () => {
    await service.call("models.load", { name: MODEL, provider: "cpu", threads: 1 });
    const first = await newChat(1500);
    const second = await newChat(1500);
    let unloaded: Promise<unknown> | undefined;
    let waiting: Promise<Awaited<ReturnType<typeof replyTo>>> | undefined;
    const running = replyTo(
      service,
      service.call("chat.send", { conversationId: first, content: "Go on" }),
      (n) => {
        if (n === 2 && !waiting) {
          waiting = replyTo(
            service,
            service.call("chat.send", { conversationId: second, content: "Me too" }),
          );
        }
        // Once the second reply is queued behind this one on the model.
        if (waiting && !unloaded && service.models.loaded?.host.waiting === 1) {
          unloaded = service.call("models.unload", {});
        }
      },
    );
    const [ran, waited] = await Promise.all([running, running.then(() => waiting)]);
    await unloaded;
    expect(ran.done?.message.interruption?.cause).toBe("model-unloaded");
    expect(waited?.error?.error).toMatchObject({
      code: "CANCELLED",
      message: "The reply was not written: the model was unloaded before it began.",
    });
    expect(waited?.text).toBe("");
    const view = await service.call("conversations.get", { id: second });
    expect(view.messages.map((m) => [m.role, m.content])).toEqual([["user", "Me too"]]);
  });

  it("a reply that needs another model waits for the reply in progress, which finishes normally", async () => {
    await service.call("models.load", { name: MODEL, provider: "cpu", threads: 1 });
    const first = await newChat(24);
    const second = await newChat(8, OTHER);
    const order: string[] = [];
    const offDone = service.on("chat.done", (e) => order.push(`done ${e.conversationId}`));
    const offToken = service.on("chat.token", (e) => {
      if (order.at(-1) !== `token ${e.conversationId}`) order.push(`token ${e.conversationId}`);
    });
    let other: Promise<Awaited<ReturnType<typeof replyTo>>> | undefined;
    const running = await replyTo(
      service,
      service.call("chat.send", { conversationId: first, content: "Hello" }),
      () => {
        other ??= replyTo(service, service.call("chat.send", { conversationId: second, content: "Hi" }));
      },
    );
    const waited = await other;
    offDone();
    offToken();
    expect(running.done?.message).toMatchObject({ model: MODEL, interruption: null });
    expect(running.done?.message.stats?.finishReason).toBe("length");
    expect(waited?.done?.message).toMatchObject({ model: OTHER, interruption: null });
    // The other model's reply began only after the first one was saved.
    expect(order).toEqual([`token ${first}`, `done ${first}`, `token ${second}`, `done ${second}`]);
    expect((await service.call("status.get", {})).model.name).toBe(OTHER);
  });

  it("an API completion cut short by a switch ends in an error saying why, not as a finished answer", async () => {
    await service.call("models.load", { name: MODEL, provider: "cpu", threads: 1 });
    let switched: Promise<unknown> | undefined;
    const off = service.on("completion.token", () => {
      switched ??= service.call("models.load", { name: OTHER });
    });
    const failed = nextEvent(service, "completion.error");
    const done = nextEvent(service, "completion.done");
    const { requestId } = await service.call("completions.create", {
      messages: [{ role: "user", content: "Write at length" }],
      sampling: { temperature: 0, maxTokens: 1500 },
    });
    const ended = await Promise.race([failed, done]);
    off();
    await switched;
    expect(ended).toEqual({
      requestId,
      error: {
        code: "CANCELLED",
        message: `The completion was cut short: the model was switched to ${OTHER} while it was being written.`,
        hint: "Try again now.",
      },
    });
  });

  it("removing the loaded model stops the reply, keeps what it wrote, and names the model", async () => {
    await service.call("models.load", { name: OTHER, provider: "cpu", threads: 1 });
    const conversationId = await newChat(1500, OTHER);
    let removed: Promise<unknown> | undefined;
    const remove: CallInput<"models.remove"> = { name: OTHER };
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId, content: "Tell me a long story" }),
      (tokens) => {
        if (tokens >= 3 && !removed) removed = service.call("models.remove", remove);
      },
    );
    await removed;
    const message: EventPayload<"chat.done">["message"] | undefined = reply.done?.message;
    expect(message?.content).toBe(reply.text);
    expect(message?.interruption).toMatchObject({ cause: "model-removed", model: OTHER });
    expect(message?.interruption?.message).toContain(`${OTHER} was removed`);
    expect((await service.call("models.list", {})).models.map((m) => m.name)).toEqual([MODEL]);
  });
});
