/**
 * An OpenAI-compatible engine's API as Elmwood uses it: list the models (GET /models), and stream a
 * chat or text completion. A busy engine (429, 503) is asked again with a growing wait, or the wait
 * its Retry-After names, until a reply has begun; nothing is retried after that. A stream that breaks
 * (the connection drops, an event cannot be read, the engine sends an error mid-reply) returns what
 * it had written with why it broke, so a reply keeps its text.
 */
import { cancelled, ElmwoodError, isElmwoodError } from "../errors.ts";
import {
  type EngineContext,
  engineMessage,
  statusFailure,
  transportFailure,
  unreadable,
} from "./failures.ts";
import { EngineConnections, type HttpAnswer, readText } from "./http.ts";
import { SseParser } from "./sse.ts";

export interface ListedModel {
  id: string;
  /** The window the engine reports (vLLM's max_model_len), or null. */
  contextLength: number | null;
}

export interface EngineUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export interface StreamOutcome {
  text: string;
  /** How the reply ended: the engine finished it (stop, length), the caller aborted, or it broke. */
  end: "stop" | "length" | "cancelled" | "broken";
  /** Why it broke (end "broken"): the connection, or an answer Elmwood could not read. */
  broken: { cause: "connection-lost" | "engine-failed"; error: ElmwoodError } | null;
  usage: EngineUsage | null;
  /** Pieces of text streamed: about one per token on every engine Elmwood knows. */
  pieces: number;
  firstTokenMs: number;
  totalMs: number;
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The first wait when the engine names none; it doubles each time. */
  baseDelayMs: number;
  /** A Retry-After longer than this is not waited for: the failure says how long it asked. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };

/** Text past this is not a reply but a runaway (or hostile) stream: it is cut off, keeping the rest. */
const MAX_REPLY_CHARS = 4 * 1024 * 1024;
/** An event this long without its end is not an event. */
const MAX_EVENT_CHARS = 4 * 1024 * 1024;

export interface ClientOptions extends EngineContext {
  /** The key to send, read when each request is made (it can change while Elmwood runs). */
  apiKey: () => Promise<string | null>;
  retry?: RetryPolicy;
  /** Waits; tests pass one that records the delays. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** Keys the engines Elmwood knows report a model's window under, in /models. */
const CONTEXT_FIELDS = ["max_model_len", "context_length", "context_window", "max_context_length"];

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelled("The request"));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled("The request"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Retry-After in ms: seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function readContextLength(entry: Record<string, unknown>): number | null {
  for (const field of CONTEXT_FIELDS) {
    const value = entry[field];
    if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  }
  return null;
}

function usageOf(value: unknown): EngineUsage | null {
  if (!value || typeof value !== "object") return null;
  const u = value as Record<string, unknown>;
  if (typeof u.prompt_tokens !== "number" || typeof u.completion_tokens !== "number") return null;
  const details = u.prompt_tokens_details as Record<string, unknown> | null | undefined;
  const cached = typeof details?.cached_tokens === "number" ? details.cached_tokens : 0;
  return { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, cachedTokens: cached };
}

/** The text and ending in one chunk (chat: choices[0].delta.content; text: choices[0].text). */
function pieceOf(chunk: Record<string, unknown>): { text: string; finish: string | null } | undefined {
  const choices = chunk.choices;
  if (!Array.isArray(choices)) return undefined;
  const choice = choices[0] as Record<string, unknown> | undefined;
  if (!choice) return { text: "", finish: null };
  const delta = choice.delta as Record<string, unknown> | undefined;
  const message = choice.message as Record<string, unknown> | undefined;
  const content = delta?.content ?? message?.content ?? choice.text;
  const finish = typeof choice.finish_reason === "string" ? choice.finish_reason : null;
  if (content !== undefined && content !== null && typeof content !== "string") return undefined;
  return { text: content ?? "", finish };
}

export class OpenAiClient {
  private readonly connections = new EngineConnections();
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: ClientOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? Date.now;
  }

  private get at(): EngineContext {
    const { engine, host, baseUrl } = this.options;
    return { engine, host, baseUrl };
  }

  async listModels(signal?: AbortSignal): Promise<ListedModel[]> {
    const answer = await this.send("GET", "/models", undefined, { kind: "models" }, signal);
    const text = await this.readBody(answer);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw unreadable(this.at, "an answer to GET /models that is not JSON");
    }
    const data = (parsed as { data?: unknown })?.data;
    if (!Array.isArray(data)) throw unreadable(this.at, "a model list without 'data'");
    const models: ListedModel[] = [];
    for (const entry of data) {
      if (!entry || typeof entry !== "object") continue;
      const id = (entry as { id?: unknown }).id;
      if (typeof id !== "string" || id === "") continue;
      models.push({ id, contextLength: readContextLength(entry as Record<string, unknown>) });
    }
    return models;
  }

  /**
   * Streams one completion. `onStart` fires when the engine accepted it (its answer began); `onText`
   * with each piece. Failures before any text throw; afterwards the outcome says how it ended.
   */
  async stream(
    endpoint: "/chat/completions" | "/completions",
    body: Record<string, unknown>,
    callbacks: { signal?: AbortSignal; onText?: (text: string) => void; onStart?: () => void } = {},
  ): Promise<StreamOutcome> {
    const { signal } = callbacks;
    const started = this.now();
    const model = typeof body.model === "string" ? body.model : "";
    const answer = await this.send(
      "POST",
      endpoint,
      JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      { kind: "generate", model },
      signal,
    );
    callbacks.onStart?.();
    const type = String(answer.headers["content-type"] ?? "").toLowerCase();
    if (type.includes("application/json")) {
      return this.wholeAnswer(answer, started, callbacks);
    }
    if (!type.includes("text/event-stream")) {
      answer.body.destroy();
      throw unreadable(this.at, `${type.split(";")[0] || "an answer without a content type"}`);
    }

    let text = "";
    let pieces = 0;
    let firstTokenMs = 0;
    let usage: EngineUsage | null = null;
    let finish: string | null = null;
    let done = false;
    const outcome = (end: StreamOutcome["end"], broken: StreamOutcome["broken"] = null): StreamOutcome => ({
      text,
      end,
      broken,
      usage,
      pieces,
      firstTokenMs,
      totalMs: this.now() - started,
    });
    /** A failure after text arrived keeps the text; before, it is the error. */
    const breakOff = (cause: "connection-lost" | "engine-failed", error: ElmwoodError): StreamOutcome => {
      answer.body.destroy();
      if (text === "") throw error;
      return outcome("broken", { cause, error });
    };

    const parser = new SseParser();
    const decoder = new TextDecoder();
    // Read to the end after [DONE] rather than stop, so the connection can serve the next request;
    // an engine that keeps the stream open after it is let go of shortly.
    let lingering: NodeJS.Timeout | undefined;
    try {
      for await (const chunk of answer.body as AsyncIterable<Buffer>) {
        if (done) continue;
        for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (event.data === "[DONE]") {
            done = true;
            lingering = setTimeout(() => answer.body.destroy(), 2000);
            break;
          }
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(event.data) as Record<string, unknown>;
          } catch {
            return breakOff("engine-failed", unreadable(this.at, "an event that is not JSON"));
          }
          if (event.event === "error" || parsed.error !== undefined) {
            const said = engineMessage(event.data).message;
            const failure = new ElmwoodError(
              "NETWORK",
              `${this.options.host} stopped with an error${said ? `: ${said}` : ""}.`,
              "Check the engine's log; try again.",
            );
            return breakOff("engine-failed", failure);
          }
          usage = usageOf(parsed.usage) ?? usage;
          const piece = pieceOf(parsed);
          if (!piece) return breakOff("engine-failed", unreadable(this.at, "an event of an unknown shape"));
          if (text.length + piece.text.length > MAX_REPLY_CHARS) {
            return breakOff("engine-failed", unreadable(this.at, "a reply of more than 4 MB"));
          }
          if (piece.text) {
            if (pieces === 0) firstTokenMs = this.now() - started;
            pieces++;
            text += piece.text;
            callbacks.onText?.(piece.text);
          }
          finish = piece.finish ?? finish;
        }
        if (parser.held > MAX_EVENT_CHARS) {
          return breakOff("engine-failed", unreadable(this.at, "an event of more than 4 MB"));
        }
      }
    } catch (error) {
      if (signal?.aborted) return outcome("cancelled");
      if (!done) {
        return breakOff("connection-lost", isElmwoodError(error) ? error : transportFailure(error, this.at));
      }
    } finally {
      clearTimeout(lingering);
    }
    if (signal?.aborted) return outcome("cancelled");
    // Some engines end with the finish reason and no [DONE]; neither means the stream was cut.
    if (!done && finish === null) {
      return breakOff(
        "connection-lost",
        new ElmwoodError(
          "NETWORK",
          `The connection to ${this.options.host} ended before the reply did.`,
          "Check the engine's log; try again.",
        ),
      );
    }
    return outcome(finish === "length" ? "length" : "stop");
  }

  close(): void {
    this.connections.destroy();
  }

  /** An engine that answered a stream request with one JSON completion. */
  private async wholeAnswer(
    answer: HttpAnswer,
    started: number,
    callbacks: { onText?: (text: string) => void },
  ): Promise<StreamOutcome> {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(await this.readBody(answer)) as Record<string, unknown>;
    } catch (error) {
      if (isElmwoodError(error)) throw error;
      throw unreadable(this.at, "an answer that is not JSON");
    }
    const piece = pieceOf(parsed);
    if (!piece) throw unreadable(this.at, "an answer of an unknown shape");
    if (piece.text) callbacks.onText?.(piece.text);
    const totalMs = this.now() - started;
    return {
      text: piece.text,
      end: piece.finish === "length" ? "length" : "stop",
      broken: null,
      usage: usageOf(parsed.usage),
      pieces: piece.text ? 1 : 0,
      firstTokenMs: totalMs,
      totalMs,
    };
  }

  private async readBody(answer: HttpAnswer): Promise<string> {
    try {
      return await readText(answer.body);
    } catch (error) {
      throw transportFailure(error, this.at);
    }
  }

  /** One request, asked again while the engine says it is busy. */
  private async send(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    what: Parameters<typeof statusFailure>[4],
    signal?: AbortSignal,
  ): Promise<HttpAnswer> {
    const url = new URL(this.options.baseUrl + path);
    const key = await this.options.apiKey();
    const headers: Record<string, string> = {
      accept: body === undefined ? "application/json" : "text/event-stream, application/json",
      "user-agent": "Elmwood",
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    };
    const { attempts, baseDelayMs, maxDelayMs } = this.retry;
    const began = this.now();
    for (let attempt = 1; ; attempt++) {
      let answer: HttpAnswer;
      try {
        answer = await this.connections.request(url, { method, headers, body, signal });
      } catch (error) {
        if (signal?.aborted) throw cancelled("The request");
        throw isElmwoodError(error) ? error : transportFailure(error, this.at);
      }
      if (answer.status >= 200 && answer.status < 300) return answer;
      const text = await readText(answer.body, 64 * 1024).catch(() => "");
      const busy = answer.status === 429 || answer.status === 503;
      if (!busy || attempt >= attempts) {
        const failure = statusFailure(answer.status, answer.statusText, text, this.at, what);
        if (busy && attempt > 1) {
          const seconds = Math.round((this.now() - began) / 1000);
          throw new ElmwoodError(
            "BUSY",
            `${failure.message.replace(/\.$/, "")}, and still was after ${attempt} tries over ${seconds} s.`,
            failure.hint,
          );
        }
        throw failure;
      }
      const asked = retryAfterMs(answer.headers["retry-after"], this.now());
      if (asked !== undefined && asked > maxDelayMs) {
        const said = engineMessage(text).message;
        throw new ElmwoodError(
          "BUSY",
          `${this.options.host} is busy (${answer.status}) and asks to wait ${Math.ceil(asked / 1000)} s before trying again${said ? `: ${said}` : ""}.`,
          "Try again later, or use another model.",
        );
      }
      await this.sleep(asked ?? baseDelayMs * 2 ** (attempt - 1), signal);
    }
  }
}
