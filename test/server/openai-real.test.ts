/**
 * The OpenAI-compatible API over the real engine service and a small generated model, driven by the
 * official `openai` client: answers match what the engine gives for the same request, streamed or
 * not, and 16 clients at once each get their own complete answer.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompletionInput } from "../../engine/api/contract.ts";
import { type RunningServer, startServer } from "../../engine/server/server.ts";
import type { ElmwoodService } from "../../engine/service.ts";
import { MODEL, makeServiceFixture, type ServiceFixture } from "../service/fixture.ts";

const TOKEN = "real-model-api-token-0123456789";

let fx: ServiceFixture;
let service: ElmwoodService;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
  service = fx.open();
  await service.call("models.load", { provider: "cpu", threads: 1 });
  server = await startServer({ door: service, port: 0, ui: false, api: { token: TOKEN } });
  client = new OpenAI({ baseURL: server.apiBaseUrl, apiKey: TOKEN, maxRetries: 0, timeout: 60_000 });
}, 300_000);

afterAll(async () => {
  await server?.close();
  await service?.close();
  await fx?.cleanup();
});

/** The engine's own answer to a completion, straight from the service's events. */
async function engineAnswer(input: CompletionInput): Promise<string> {
  let id: string | undefined;
  const early = new Map<string, string>();
  return new Promise<string>((resolve, reject) => {
    const offDone = service.on("completion.done", (e) => {
      if (id === undefined) early.set(e.requestId, e.text);
      else if (e.requestId === id) finish(e.text);
    });
    const offError = service.on("completion.error", (e) => {
      if (e.requestId === id) {
        offDone();
        offError();
        reject(new Error(e.error.message));
      }
    });
    const finish = (text: string) => {
      offDone();
      offError();
      resolve(text);
    };
    service.call("completions.create", input).then((started) => {
      id = started.requestId;
      const text = early.get(id);
      if (text !== undefined) finish(text);
    }, reject);
  });
}

async function streamedChat(body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming) {
  const stream = await client.chat.completions.create({
    ...body,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  const ids = new Set<string>();
  for await (const chunk of stream) {
    ids.add(chunk.id);
    usage = chunk.usage ?? usage;
    text += chunk.choices[0]?.delta.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  return { text, finish, usage, ids };
}

describe("the API over a real model", () => {
  it("lists the installed model", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it("answers a greedy chat as the engine does, and the stream adds up to the same answer", async () => {
    const messages = [{ role: "user" as const, content: "Tell me about the woods." }];
    const whole = await client.chat.completions.create({
      model: MODEL,
      messages,
      temperature: 0,
      max_tokens: 8,
    });
    const expected = await engineAnswer({
      model: MODEL,
      messages,
      sampling: { temperature: 0, maxTokens: 8 },
    });
    expect(whole.choices[0].message.content).toBe(expected);
    expect(expected.length).toBeGreaterThan(0);
    expect(whole.usage?.completion_tokens).toBeLessThanOrEqual(8);
    expect(whole.usage?.prompt_tokens).toBeGreaterThan(5);

    const streamed = await streamedChat({ model: MODEL, messages, temperature: 0, max_tokens: 8 });
    expect(streamed.text).toBe(expected);
    expect(streamed.finish).toBe(whole.choices[0].finish_reason);
    expect(streamed.usage?.completion_tokens).toBe(whole.usage?.completion_tokens);
    expect(streamed.ids.size).toBe(1);
  });

  it("answers legacy completions, streamed and whole, the same way", async () => {
    const whole = await client.completions.create({
      model: MODEL,
      prompt: "Once upon a time",
      max_tokens: 6,
      temperature: 0,
    });
    const stream = await client.completions.create({
      model: MODEL,
      prompt: "Once upon a time",
      max_tokens: 6,
      temperature: 0,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(whole.choices[0].text);
    expect(whole.usage?.completion_tokens).toBeLessThanOrEqual(6);
  });

  it("refuses a reply that cannot fit the window with 400 context_length_exceeded", async () => {
    const error = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 2048 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("context_length_exceeded");
  });

  it("stops the model when a streaming client goes away mid-reply", async () => {
    const ended = new Promise<{ finishReason: string; tokens: number }>((resolve) => {
      const off = service.on("completion.done", (e) => {
        off();
        resolve({ finishReason: e.finishReason, tokens: e.usage.completionTokens });
      });
    });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      {
        model: MODEL,
        messages: [{ role: "user", content: "Go on and on." }],
        max_tokens: 1500,
        temperature: 0,
        stream: true,
      },
      { signal: controller.signal },
    );
    let chunks = 0;
    for await (const _chunk of stream) {
      if (++chunks === 3) {
        controller.abort();
        break;
      }
    }
    const end = await ended;
    expect(end.finishReason).toBe("cancelled");
    expect(end.tokens).toBeLessThan(1500);
    // The model is free again: the next request is answered at once.
    const next = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    expect(next.choices[0].finish_reason).toBeDefined();
  });
});

describe("16 clients at once", () => {
  const CLIENTS = 16;
  const request = (i: number) => ({
    model: MODEL,
    messages: [{ role: "user" as const, content: `Client ${i} asks about tree number ${i * 7 + 3}.` }],
    max_tokens: 12,
    // Half greedy, half sampled under their own seed: both must reproduce exactly.
    ...(i % 2 === 0 ? { temperature: 0 } : { temperature: 0.9, seed: 1000 + i }),
  });

  it("each gets its own complete answer, the same as when it asked alone", async () => {
    const alone: string[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const answer = await client.chat.completions.create(request(i));
      alone.push(answer.choices[0].message.content ?? "");
    }
    // The answers differ from one another, so a mixed-up answer would be caught.
    expect(new Set(alone).size).toBeGreaterThan(CLIENTS / 2);

    const started = performance.now();
    const together = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        // Every client its own connection pool, as separate programs would have.
        const own = new OpenAI({
          baseURL: server.apiBaseUrl,
          apiKey: TOKEN,
          maxRetries: 0,
          timeout: 120_000,
        });
        if (i % 2 === 0) {
          const answer = await own.chat.completions.create(request(i));
          return {
            text: answer.choices[0].message.content ?? "",
            finish: answer.choices[0].finish_reason,
            id: answer.id,
          };
        }
        const streamed = await (async () => {
          const stream = await own.chat.completions.create({ ...request(i), stream: true });
          let text = "";
          let finish: string | null = null;
          let id = "";
          for await (const chunk of stream) {
            id = chunk.id;
            text += chunk.choices[0]?.delta.content ?? "";
            finish = chunk.choices[0]?.finish_reason ?? finish;
          }
          return { text, finish, id };
        })();
        return streamed;
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`load: ${CLIENTS} concurrent clients answered in ${seconds.toFixed(1)} s`);
    expect(together.map((t) => t.text)).toEqual(alone);
    for (const t of together) expect(["stop", "length"]).toContain(t.finish);
    expect(new Set(together.map((t) => t.id)).size).toBe(CLIENTS);
    expect(seconds).toBeLessThan(90);
  });
});
