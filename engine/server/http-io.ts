/**
 * Reading request bodies within a bound and writing JSON answers: the only place the server touches
 * raw bytes, so the limits hold for every route.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ElmwoodError, type ErrorCode } from "../errors.ts";

/** A refusal with its HTTP status: the doors render it in their own error shape. */
export class HttpProblem extends ElmwoodError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    hint?: string,
    readonly extra: {
      /** The request field at fault (OpenAI's `param`). */
      param?: string;
      /** OpenAI's machine-readable `code`, e.g. "invalid_api_key". */
      apiCode?: string;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(code, message, hint);
  }
}

function tooLarge(limit: number): HttpProblem {
  return new HttpProblem(
    413,
    "BAD_INPUT",
    `The request body is larger than ${limit} bytes.`,
    "Send less at once (shorter messages or a smaller document).",
    { headers: { Connection: "close" } },
  );
}

/**
 * The whole body, refused as 413 as soon as it passes `limit` (the declared length is checked before
 * a byte is read). After a refusal the rest is discarded, not stored, until the connection closes.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        settle(tooLarge(limit));
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => settle(null));
    req.once("error", (error) => settle(error));
    req.once("close", () =>
      settle(new ElmwoodError("CANCELLED", "The client closed the connection before sending its request.")),
    );
  });
}

/** The body as JSON; an empty body is `undefined`. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new HttpProblem(
      400,
      "BAD_INPUT",
      `The request body is not valid JSON (${(error as Error).message}).`,
      "Send a JSON object with Content-Type: application/json.",
    );
  }
}

/** Headers every answer carries: nothing sniffed, no URL (with its token) leaked as a referrer. */
export function baseHeaders(): Record<string, string> {
  return {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...baseHeaders(),
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}
