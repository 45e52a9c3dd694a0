/**
 * The OpenAI-compatible client against a fake engine, one failure at a time: each ends in one clear
 * message with a way forward, a busy engine is asked again as it says, and a reply that breaks off
 * keeps what had arrived and says why.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OpenAiClient, type RetryPolicy, retryAfterMs } from "../../engine/remote/client.ts";
import { closedPort, FakeOpenAi, json, startStream } from "./fake-openai.ts";

let fake: FakeOpenAi;
let open: OpenAiClient[] = [];

beforeAll(async () => {
  fake = await FakeOpenAi.start();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  for (const c of open) c.close();
  open = [];
  fake.reset();
});

function client(
  options: { baseUrl?: string; key?: string | null; retry?: RetryPolicy; delays?: number[] } = {},
): OpenAiClient {
  const baseUrl = options.baseUrl ?? fake.url;
  const made = new OpenAiClient({
    engine: "fake",
    host: new URL(baseUrl).host,
    baseUrl,
    apiKey: async () => options.key ?? null,
    retry: options.retry,
    // Waits are recorded rather than slept, so a test of five retries takes no time.
    sleep: options.delays
      ? async (ms) => {
          options.delays?.push(ms);
        }
      : undefined,
  });
  open.push(made);
  return made;
}

const chat = (content = "Hello") => ({
  model: "fake-chat",
  messages: [{ role: "user", content }],
  max_tokens: 64,
});

describe("listing models", () => {
  it("reads ids and the window vLLM reports as max_model_len", async () => {
    expect(await client().listModels()).toEqual([
      { id: "fake-chat", contextLength: 8192 },
      { id: "fake/small-v1", contextLength: null },
    ]);
  });

  it("says there is no API at an address that answers 404 to /models, and where engines serve it", async () => {
    const error = await client({ baseUrl: `http://127.0.0.1:${fake.port}/api` })
      .listModels()
      .catch((e) => e);
    expect(error).toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("no OpenAI-compatible API"),
    });
    expect(error.hint).toMatch(/\/v1/);
  });
});

describe("what cannot be reached", () => {
  it("says nothing listens at a closed port, and to check the engine runs", async () => {
    const port = await closedPort();
    const error = await client({ baseUrl: `http://127.0.0.1:${port}/v1` })
      .listModels()
      .catch((e) => e);
    expect(error).toMatchObject({
      code: "NETWORK",
      message: `Nothing is listening at 127.0.0.1:${port} (connection refused).`,
    });
    expect(error.hint).toMatch(/engine is running/);
  });

  it("says a name does not resolve", async () => {
    const error = await client({ baseUrl: "http://no-such-engine.invalid:8000/v1" })
      .listModels()
      .catch((e) => e);
    expect(error).toMatchObject({
      code: "NETWORK",
      message: "The name 'no-such-engine.invalid' could not be found.",
    });
  });

  it("says a self-signed certificate is not trusted, and how to trust one's own", async () => {
    const tls = await FakeOpenAi.start({ tls: true });
    try {
      const error = await client({ baseUrl: tls.url })
        .listModels()
        .catch((e) => e);
      expect(error).toMatchObject({
        code: "NETWORK",
        message: `The secure connection to 127.0.0.1:${tls.port} failed: its certificate is self-signed.`,
      });
      expect(error.hint).toMatch(/NODE_EXTRA_CA_CERTS/);
    } finally {
      await tls.close();
    }
  });

  it("says an https address on a plain http port does not speak TLS", async () => {
    const error = await client({ baseUrl: `https://127.0.0.1:${fake.port}/v1` })
      .listModels()
      .catch((e) => e);
    expect(error).toMatchObject({ code: "NETWORK", message: expect.stringContaining("does not speak TLS") });
    expect(error.hint).toMatch(/http:\/\//);
  });

  it("does not follow a redirect, which would send the text to a host nobody added", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(302, { location: "http://elsewhere.invalid/v1/models" });
      res.end();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const port = (server.address() as AddressInfo).port;
      const error = await client({ baseUrl: `http://127.0.0.1:${port}/v1` })
        .listModels()
        .catch((e) => e);
      expect(error).toMatchObject({ code: "NETWORK", message: expect.stringContaining("redirect (302") });
    } finally {
      server.close();
    }
  });
});

describe("keys", () => {
  it("sends the key as a bearer token and says when it is refused, quoting the engine", async () => {
    fake.key = "right-key";
    expect(await client({ key: "right-key" }).listModels()).toHaveLength(2);
    expect(fake.requests.at(-1)?.headers.authorization).toBe("Bearer right-key");
    const error = await client({ key: "wrong-key" })
      .listModels()
      .catch((e) => e);
    expect(error).toMatchObject({
      code: "NETWORK",
      message: expect.stringMatching(
        /refused the request \(401 Unauthorized\): the API key is missing or wrong: Invalid API key provided\./,
      ),
    });
    expect(error.hint).toMatch(/Settings → Engines/);
    // The message quotes the engine, never the key.
    expect(JSON.stringify(error)).not.toContain("wrong-key");
  });

  it("says a 403 means the key may not do this", async () => {
    fake.next((_req, res) => {
      json(res, 403, { error: { message: "Project has no access to this model." } });
      return true;
    });
    const error = await client()
      .stream("/chat/completions", chat())
      .catch((e) => e);
    expect(error.message).toMatch(
      /403 Forbidden\): the API key is not allowed to do this: Project has no access/,
    );
  });
});

describe("a model that is gone", () => {
  it("is NOT_FOUND with the way to refresh the list", async () => {
    const error = await client()
      .stream("/chat/completions", { ...chat(), model: "gone" })
      .catch((e) => e);
    expect(error).toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("The model 'gone' is not on 127.0.0.1"),
    });
    expect(error.hint).toMatch(/Refresh the engine's models/);
  });
});

describe("a busy engine", () => {
  it("is asked again after the seconds its Retry-After names", async () => {
    const delays: number[] = [];
    fake.next((_req, res) => {
      json(res, 429, { error: { message: "Too many requests" } }, { "retry-after": "3" });
      return true;
    });
    const outcome = await client({ delays }).stream("/chat/completions", chat());
    expect(delays).toEqual([3000]);
    expect(outcome.end).toBe("stop");
    expect(fake.generations).toHaveLength(2);
  });

  it("waits for real before asking again (Retry-After: 1)", async () => {
    fake.next((_req, res) => {
      json(res, 503, { error: { message: "Loading" } }, { "retry-after": "1" });
      return true;
    });
    const outcome = await client().stream("/chat/completions", chat());
    expect(outcome.text).toContain("birch");
    const [first, second] = fake.generations;
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it("reads Retry-After as an HTTP date too", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs("Wed, 01 Jan 2025 00:00:05 GMT", now)).toBe(5000);
    expect(retryAfterMs("2", now)).toBe(2000);
    expect(retryAfterMs("soon", now)).toBeUndefined();
  });

  it("backs off 1, 2, 4, 8 s without Retry-After, then gives up saying how long it tried", async () => {
    const delays: number[] = [];
    fake.next((_req, res) => {
      json(res, 503, { error: { message: "Server overloaded" } });
      return true;
    }, true);
    const error = await client({ delays })
      .stream("/chat/completions", chat())
      .catch((e) => e);
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    expect(fake.generations).toHaveLength(5);
    expect(error).toMatchObject({
      code: "BUSY",
      message: expect.stringMatching(
        /is busy \(503 Service Unavailable\): Server overloaded, and still was after 5 tries/,
      ),
    });
  });

  it("does not wait for a Retry-After past a minute: it says how long the engine asked", async () => {
    const delays: number[] = [];
    fake.next((_req, res) => {
      json(res, 429, { error: { message: "Quota" } }, { "retry-after": "600" });
      return true;
    });
    const error = await client({ delays })
      .stream("/chat/completions", chat())
      .catch((e) => e);
    expect(delays).toEqual([]);
    expect(error).toMatchObject({ code: "BUSY", message: expect.stringContaining("asks to wait 600 s") });
  });

  it("stops waiting when the request is aborted during the wait", async () => {
    fake.next((_req, res) => {
      json(res, 503, {}, { "retry-after": "30" });
      return true;
    });
    const controller = new AbortController();
    const pending = client().stream("/chat/completions", chat(), { signal: controller.signal });
    await expect.poll(() => fake.generations.length).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "CANCELLED" });
  });
});

describe("streams", () => {
  it("streams the pieces and reads the usage the engine reports", async () => {
    const pieces: string[] = [];
    const outcome = await client().stream("/chat/completions", chat("Tell me"), {
      onText: (t) => pieces.push(t),
    });
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join("")).toBe(FakeOpenAi.replyTo(chat("Tell me")));
    expect(outcome).toMatchObject({ end: "stop", broken: null, text: pieces.join("") });
    expect(outcome.usage).toEqual({ promptTokens: 11, completionTokens: pieces.length, cachedTokens: 0 });
    expect(fake.generations[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("keeps what arrived when the connection is cut mid-reply, and says the connection was lost", async () => {
    fake.next((_req, res) => {
      startStream(res, ["The birch ", "sheds "]);
      setTimeout(() => res.socket?.destroy(), 20);
      return true;
    });
    const outcome = await client().stream("/chat/completions", chat());
    expect(outcome.text).toBe("The birch sheds ");
    expect(outcome.end).toBe("broken");
    expect(outcome.broken?.cause).toBe("connection-lost");
    expect(outcome.broken?.error.message).toMatch(/closed the connection/);
  });

  it("calls a stream that ends with neither a finish reason nor [DONE] cut", async () => {
    fake.next((_req, res) => {
      startStream(res, ["Half a "]);
      res.end();
      return true;
    });
    const outcome = await client().stream("/chat/completions", chat());
    expect(outcome).toMatchObject({ end: "broken", text: "Half a " });
    expect(outcome.broken?.error.message).toMatch(/ended before the reply did/);
  });

  it("keeps the text before an event that is not JSON, and says the engine sent something unreadable", async () => {
    fake.next((_req, res) => {
      startStream(res, ["Before "]);
      res.end("data: {this is not json\n\n");
      return true;
    });
    const outcome = await client().stream("/chat/completions", chat());
    expect(outcome).toMatchObject({ end: "broken", text: "Before " });
    expect(outcome.broken?.cause).toBe("engine-failed");
    expect(outcome.broken?.error.message).toMatch(/sent an event that is not JSON/);
  });

  it("cuts off an event that never ends (4 MB without a line break), keeping the reply before it", async () => {
    fake.next((_req, res) => {
      startStream(res, ["Sane start "]);
      res.write(`data: ${"x".repeat(5 * 1024 * 1024)}`);
      return true;
    });
    const outcome = await client().stream("/chat/completions", chat());
    expect(outcome).toMatchObject({ end: "broken", text: "Sane start " });
    expect(outcome.broken?.error.message).toMatch(/an event of more than 4 MB/);
  });

  it("fails with the engine's words when it sends an error event before any text", async () => {
    fake.next((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: ${JSON.stringify({ error: { message: "CUDA out of memory" } })}\n\n`);
      return true;
    });
    const error = await client()
      .stream("/chat/completions", chat())
      .catch((e) => e);
    expect(error).toMatchObject({ code: "NETWORK", message: expect.stringContaining("CUDA out of memory") });
  });

  it("refuses a web page where the API should answer", async () => {
    fake.next((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>Please log in to the hotel Wi-Fi</html>");
      return true;
    });
    const error = await client()
      .stream("/chat/completions", chat())
      .catch((e) => e);
    expect(error).toMatchObject({ code: "NETWORK", message: expect.stringContaining("sent text/html") });
    expect(error.hint).toMatch(/proxy, a login page/);
  });

  it("takes a whole JSON answer from an engine that does not stream", async () => {
    fake.next((_req, res) => {
      json(res, 200, { choices: [{ message: { content: "All at once." }, finish_reason: "stop" }] });
      return true;
    });
    const pieces: string[] = [];
    const outcome = await client().stream("/chat/completions", chat(), { onText: (t) => pieces.push(t) });
    expect(pieces).toEqual(["All at once."]);
    expect(outcome).toMatchObject({ end: "stop", usage: null });
  });

  it("maps a context-length refusal to CONTEXT_OVERFLOW", async () => {
    fake.next((_req, res) => {
      json(res, 400, {
        object: "error",
        message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
      });
      return true;
    });
    const error = await client()
      .stream("/chat/completions", chat())
      .catch((e) => e);
    expect(error).toMatchObject({
      code: "CONTEXT_OVERFLOW",
      message: expect.stringContaining("maximum context length is 4096"),
    });
  });

  it("aborting closes the HTTP request, so the engine stops generating", async () => {
    fake.wordDelayMs = 50;
    const controller = new AbortController();
    let pieces = 0;
    const outcome = await client().stream("/chat/completions", chat(), {
      signal: controller.signal,
      onText: () => {
        if (++pieces === 2) controller.abort();
      },
    });
    expect(outcome.end).toBe("cancelled");
    expect(outcome.text.length).toBeGreaterThan(0);
    await expect.poll(() => fake.generations[0]?.aborted).toBe(true);
  });
});
