/**
 * A small OpenAI-compatible server for the remote-engine tests, scripted per test: it lists models,
 * streams chat and text completions word by word (with usage), and can be told to misbehave the ways
 * real engines and networks do: refuse a key, forget a model, be busy (with or without Retry-After),
 * cut a stream mid-reply, send an event that is not JSON, an error event, a web page, a redirect.
 * Every request is recorded: headers, body, when it came, and whether the client went away before
 * the answer was finished (an aborted reply).
 */
import { readFileSync } from "node:fs";
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown> | null;
  at: number;
  /** The client closed the connection before the answer ended. */
  aborted: boolean;
}

/** What the fake does with one generation request; `undefined` falls through to the normal reply. */
export type Behaviour = (
  req: IncomingMessage,
  res: ServerResponse,
  body: Record<string, unknown>,
) => boolean | Promise<boolean>;

export interface FakeModel {
  id: string;
  max_model_len?: number;
}

export const DEFAULT_MODELS: FakeModel[] = [
  { id: "fake-chat", max_model_len: 8192 },
  { id: "fake/small-v1" },
];

export class FakeOpenAi {
  readonly requests: Recorded[] = [];
  models: FakeModel[] = DEFAULT_MODELS.map((m) => ({ ...m }));
  /** The key every request must carry; null: none needed. */
  key: string | null = null;
  /** Behaviours tried in order before the normal reply, each used once unless `sticky`. */
  private behaviours: { run: Behaviour; sticky: boolean }[] = [];
  /** Milliseconds between streamed words. */
  wordDelayMs = 5;
  /** Whether streams end with usage (include_usage). */
  reportUsage = true;

  private constructor(
    private readonly server: Server,
    readonly secure: boolean,
  ) {}

  static async start(options: { tls?: boolean } = {}): Promise<FakeOpenAi> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void fake.handle(req, res);
    const fixtures = join(import.meta.dirname, "fixtures");
    const server = options.tls
      ? createHttps(
          {
            key: readFileSync(join(fixtures, "self-signed.key")),
            cert: readFileSync(join(fixtures, "self-signed.pem")),
          },
          handler,
        )
      : createHttp(handler);
    const fake: FakeOpenAi = new FakeOpenAi(server, options.tls === true);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `${this.secure ? "https" : "http"}://127.0.0.1:${this.port}/v1`;
  }

  /** Generation requests (chat and text), oldest first. */
  get generations(): Recorded[] {
    return this.requests.filter((r) => r.path.endsWith("/completions"));
  }

  /** Runs `behaviour` for the next generation request (or every one, `sticky`). */
  next(behaviour: Behaviour, sticky = false): void {
    this.behaviours.push({ run: behaviour, sticky });
  }

  /** Back to a well-behaved engine with the default models, no key and no history. */
  reset(): void {
    this.behaviours = [];
    this.requests.length = 0;
    this.models = DEFAULT_MODELS.map((m) => ({ ...m }));
    this.key = null;
    this.wordDelayMs = 5;
    this.reportUsage = true;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The words a reply to these messages streams: deterministic, and different for each last message. */
  static replyTo(body: Record<string, unknown>): string {
    const messages = body.messages as { content: string }[] | undefined;
    const last = messages ? (messages[messages.length - 1]?.content ?? "") : String(body.prompt ?? "");
    return `You said: ${last.slice(0, 60)}. The birch sheds its bark in spring.`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: Record<string, unknown> | null = null;
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    } catch {
      body = null;
    }
    const record: Recorded = {
      method: req.method ?? "GET",
      path: req.url ?? "",
      headers: req.headers,
      body,
      at: performance.now(),
      aborted: false,
    };
    this.requests.push(record);
    res.on("close", () => {
      if (!res.writableFinished) record.aborted = true;
    });

    if (this.key !== null && req.headers.authorization !== `Bearer ${this.key}`) {
      return json(res, 401, {
        error: { message: "Invalid API key provided.", type: "invalid_request_error" },
      });
    }
    if (req.url === "/v1/models" && req.method === "GET") {
      return json(res, 200, { object: "list", data: this.models.map((m) => ({ object: "model", ...m })) });
    }
    const chat = req.url === "/v1/chat/completions";
    if ((chat || req.url === "/v1/completions") && req.method === "POST" && body) {
      for (const entry of [...this.behaviours]) {
        if (!entry.sticky) this.behaviours.splice(this.behaviours.indexOf(entry), 1);
        if (await entry.run(req, res, body)) return;
      }
      if (!this.models.some((m) => m.id === body.model)) {
        return json(res, 404, {
          error: { message: `The model '${String(body.model)}' does not exist.`, code: "model_not_found" },
        });
      }
      return this.reply(res, body, chat);
    }
    json(res, 404, { error: { message: `No route ${req.method} ${req.url}` } });
  }

  private async reply(res: ServerResponse, body: Record<string, unknown>, chat: boolean): Promise<void> {
    const words = FakeOpenAi.replyTo(body).split(/(?<= )/);
    const limit = typeof body.max_tokens === "number" ? body.max_tokens : words.length;
    const sent = words.slice(0, limit);
    const finish = sent.length < words.length ? "length" : "stop";
    const usage = { prompt_tokens: 11, completion_tokens: sent.length, total_tokens: 11 + sent.length };
    if (body.stream !== true) {
      const content = sent.join("");
      return json(res, 200, {
        choices: [
          chat
            ? { message: { role: "assistant", content }, finish_reason: finish }
            : { text: content, finish_reason: finish },
        ],
        usage,
      });
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (piece: Record<string, unknown>) =>
      `data: ${JSON.stringify({ object: "chunk", choices: [piece] })}\n\n`;
    for (const word of sent) {
      if (res.destroyed) return;
      res.write(
        chunk(chat ? { delta: { content: word }, finish_reason: null } : { text: word, finish_reason: null }),
      );
      await new Promise((r) => setTimeout(r, this.wordDelayMs));
    }
    res.write(chunk(chat ? { delta: {}, finish_reason: finish } : { text: "", finish_reason: finish }));
    if (this.reportUsage) res.write(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
    res.end("data: [DONE]\n\n");
  }
}

export function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(value));
}

/** Starts a chat stream and writes these content pieces; the caller decides how it ends. */
export function startStream(res: ServerResponse, pieces: string[]): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const piece of pieces) {
    res.write(
      `data: ${JSON.stringify({ choices: [{ delta: { content: piece }, finish_reason: null }] })}\n\n`,
    );
  }
}

/** A port on 127.0.0.1 where nothing listens (taken and given back). */
export async function closedPort(): Promise<number> {
  const server = createHttp();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
