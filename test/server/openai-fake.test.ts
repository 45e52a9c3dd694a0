import { request } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { fakeReply } from "./fake-engine.ts";
import { bearer, type FakeServer, raw, startFakeServer } from "./helpers.ts";

let fx: FakeServer;
let client: OpenAI;
beforeAll(async () => {
  fx = await startFakeServer({ limits: { maxPendingPerModel: 3 } });
  client = new OpenAI({ baseURL: fx.server.apiBaseUrl, apiKey: fx.apiToken, maxRetries: 0, timeout: 20_000 });
});
afterAll(async () => fx?.close());

const creates = () => fx.engine.calls.filter((c) => c.name === "completions.create").length;

const replyTo = (prompt: string, max = 64) => fakeReply(prompt, max).join("");

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  raw(fx.port, {
    method: "POST",
    path,
    body,
    headers: { ...bearer(fx.apiToken), "content-type": "application/json", ...headers },
  });

describe("OpenAI-compatible API through the official client", () => {
  it("lists the installed models and retrieves one", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(fx.engine.models);
    expect(list.data[0]).toMatchObject({ object: "model", owned_by: "elmwood", created: 1735787045 });
    expect((await client.models.retrieve("fake-base")).id).toBe("fake-base");
    await expect(client.models.retrieve("nope")).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("answers a chat completion with the reply, finish reason and usage", async () => {
    const completion = await client.chat.completions.create({
      model: "fake-270m-instruct",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello there" },
      ],
      temperature: 0,
      max_tokens: 50,
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("fake-270m-instruct");
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices[0].message).toMatchObject({
      role: "assistant",
      content: replyTo("Be brief. hello there"),
    });
    expect(completion.choices[0].finish_reason).toBe("stop");
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
    const sent = fx.engine.calls.filter((c) => c.name === "completions.create").at(-1)?.input;
    expect(sent).toEqual({
      model: "fake-270m-instruct",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello there" },
      ],
      sampling: { temperature: 0, maxTokens: 50 },
    });
  });

  it("streams a chat completion as chunks that add up to the reply, then [DONE] with usage", async () => {
    const stream = await client.chat.completions.create({
      model: "fake-270m-instruct",
      messages: [{ role: "user", content: "stream me a few words" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let role: string | undefined;
    let finish: string | null = null;
    let usage: unknown;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      role ??= choice.delta.role;
      text += choice.delta.content ?? "";
      finish = choice.finish_reason ?? finish;
    }
    expect(text).toBe(replyTo("stream me a few words"));
    expect(role).toBe("assistant");
    expect(finish).toBe("stop");
    expect(ids.size).toBe(1);
    expect(usage).toMatchObject({ completion_tokens: 7 });
  });

  it("reports a failure after the stream began as an error event the client raises", async () => {
    fx.engine.failMidway = new ElmwoodError(
      "INTERNAL",
      "The model stopped unexpectedly.",
      "Load the model again.",
    );
    const stream = await client.chat.completions.create({
      model: "fake-base",
      messages: [{ role: "user", content: "one two three four five" }],
      stream: true,
    });
    let text = "";
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain("The model stopped unexpectedly.");
    expect(text).toBe(fakeReply("one two three four five", 2).join(""));
  });

  it("answers legacy completions, streamed and not, honouring stop and the default of 16 tokens", async () => {
    const plain = await client.completions.create({ model: "fake-base", prompt: "one two three four" });
    expect(plain.object).toBe("text_completion");
    expect(plain.choices[0].text).toBe(replyTo("one two three four"));
    const sent = fx.engine.calls.filter((c) => c.name === "completions.create").at(-1)?.input;
    expect(sent).toMatchObject({ sampling: { maxTokens: 16 } });

    const stream = await client.completions.create({
      model: "fake-base",
      prompt: "alpha beta gamma",
      stop: "beta",
      seed: -1,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(replyTo("alpha beta gamma").split("beta")[0]);
    const streamed = fx.engine.calls.filter((c) => c.name === "completions.create").at(-1)?.input;
    expect(streamed).toMatchObject({ stop: ["beta"], sampling: { seed: 2 ** 32 - 1 } });
  });

  it("reports wrong fields as BadRequestError naming the parameter", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ messages: [{ role: "user", content: "x" }], temperature: "hot" }, "temperature"],
      [{ messages: [{ role: "user", content: "x" }], temperature: 3 }, "temperature"],
      [{ messages: [{ role: "user", content: "x" }], max_tokens: 100_000 }, "max_tokens"],
      [{ messages: [{ role: "user", content: "x" }], n: 2 }, "n"],
      [{ messages: [{ role: "user", content: "x" }], stop: ["a", "b", "c", "d", "e"] }, "stop"],
      [{ messages: [{ role: "tool", content: "x" }] }, "messages[0].role"],
      [{ messages: [] }, "messages"],
      [{ messages: [{ role: "user", content: "x" }], tools: [] }, "tools"],
      [{ messages: [{ role: "user", content: "x" }], presence_penalty: 1 }, "presence_penalty"],
    ];
    for (const [body, param] of cases) {
      const error = await client.chat.completions.create({ model: "fake-base", ...body } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, param).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).param, JSON.stringify(body)).toBe(param);
    }
  });

  it("answers an unknown model with 404 model_not_found and a wrong key with AuthenticationError", async () => {
    for (const model of ["gpt-4o", "Not A Name!"]) {
      const error = await client.chat.completions
        .create({ model, messages: [{ role: "user", content: "x" }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    }
    const stranger = new OpenAI({ baseURL: fx.server.apiBaseUrl, apiKey: "not-the-token", maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("API requests the official client would never send", () => {
  it("refuses malformed JSON, a non-object body and wrong types with 400 in OpenAI's shape", async () => {
    for (const body of ['{"messages": [', "[]", '"text"', "null", '{"messages": "hi"}', '{"prompt": 5}']) {
      const path = body.includes("prompt") ? "/v1/completions" : "/v1/chat/completions";
      const res = await post(path, body);
      expect(res.status, body).toBe(400);
      const error = (res.json() as { error: Record<string, unknown> }).error;
      expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"]);
      expect(error.type).toBe("invalid_request_error");
    }
  });

  it("refuses a huge body with 413, declared or streamed in chunks without a length", async () => {
    const declared = await post(
      "/v1/chat/completions",
      `{"messages":[{"role":"user","content":"${"a".repeat(2_000_000)}"}]}`,
    );
    expect(declared.status).toBe(413);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: fx.port,
          method: "POST",
          path: "/v1/chat/completions",
          headers: { ...bearer(fx.apiToken), "transfer-encoding": "chunked" },
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      const piece = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < 4 * 1024 * 1024) {
          sent += piece.length;
          if (!req.write(piece)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(chunked).toBe(413);
  });

  it("refuses a wrong method with 405 and an unknown route with 404", async () => {
    const get = await raw(fx.port, { path: "/v1/chat/completions", headers: bearer(fx.apiToken) });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
    expect((await raw(fx.port, { path: "/v1/embeddings", headers: bearer(fx.apiToken) })).status).toBe(404);
  });
});

describe("the request queue", () => {
  it("admits requests up to the bound, answers 429 with Retry-After past it, and each waiting one gets its own answer", async () => {
    fx.engine.hold();
    const before = creates();
    const prompts = ["first in line", "second in line", "third in line"];
    const pending = prompts.map((p) =>
      client.completions.create({ model: "fake-base", prompt: p, max_tokens: 8 }),
    );
    await expect.poll(creates).toBe(before + 3);
    const refused = await post("/v1/completions", '{"model":"fake-base","prompt":"one too many"}');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(refused.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
    // Another model has its own queue.
    const other = client.completions.create({
      model: "fake-270m-instruct",
      prompt: "other model",
      max_tokens: 4,
    });
    fx.engine.resume();
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.choices[0].text)).toEqual(prompts.map((p) => replyTo(p, 8)));
    await other;
  });

  it("answers the engine's own BUSY with 429 even when the gate let the request through", async () => {
    fx.engine.maxQueue = 0;
    fx.engine.hold();
    try {
      const started = fx.engine.started.length;
      const first = client.completions.create({ model: "fake-base", prompt: "occupies the model" });
      await expect.poll(() => fx.engine.started.length).toBe(started + 1);
      const error = await client.completions
        .create({ model: "fake-base", prompt: "refused", stream: true })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      fx.engine.resume();
      await first;
    } finally {
      fx.engine.maxQueue = 64;
      fx.engine.resume();
    }
  });

  it("cancels the generation in the engine when the client disconnects, streamed or not", async () => {
    for (const stream of [false, true]) {
      fx.engine.hold();
      const controller = new AbortController();
      const before = creates();
      const pending = client.chat.completions
        .create(
          { model: "fake-base", messages: [{ role: "user", content: "never mind" }], stream },
          { signal: controller.signal },
        )
        .then(async (r) => {
          if (stream) for await (const _ of r as AsyncIterable<unknown>);
        });
      await expect.poll(creates).toBe(before + 1);
      controller.abort();
      await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
      const id = fx.engine.createdIds.at(-1) as string;
      await expect.poll(() => fx.engine.cancelledIds.has(id)).toBe(true);
      fx.engine.resume();
    }
  });
});
