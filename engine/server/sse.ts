/**
 * A server-sent-events response: the contract's events in browser mode and OpenAI's streamed chunks.
 * A client that stops reading is dropped once too much is waiting for it, so one stalled tab cannot
 * grow the engine's memory without bound.
 */
import type { ServerResponse } from "node:http";
import { baseHeaders } from "./http-io.ts";

export interface SseOptions {
  /** A comment line this often keeps idle connections open and finds dead ones. 0: none. */
  heartbeatMs?: number;
  /** Bytes queued for a slow reader before the stream is closed. */
  maxBufferedBytes?: number;
}

export class SseStream {
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly maxBuffered: number;

  constructor(
    private readonly res: ServerResponse,
    options: SseOptions = {},
  ) {
    this.maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    res.writeHead(200, {
      ...baseHeaders(),
      "Content-Type": "text/event-stream; charset=utf-8",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    res.once("close", () => this.stop());
    const every = options.heartbeatMs ?? 15_000;
    if (every > 0) {
      this.heartbeat = setInterval(() => this.write(": ping\n\n"), every);
      this.heartbeat.unref();
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** One event; `data` must be a single line (JSON is). */
  send(data: string, event?: string): boolean {
    return this.write(event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
  }

  comment(text: string): boolean {
    return this.write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.closed) return;
    this.stop();
    this.res.end();
  }

  private write(text: string): boolean {
    if (this.closed) return false;
    if (this.res.writableLength > this.maxBuffered) {
      this.stop();
      this.res.destroy();
      return false;
    }
    this.res.write(text);
    return true;
  }

  private stop(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
