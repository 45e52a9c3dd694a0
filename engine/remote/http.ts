/**
 * One HTTP exchange with a remote engine over node:http(s): the answer's status and headers, and
 * its body as a stream to read at the caller's pace. Node's own client rather than fetch: fetch
 * refuses some ports outright and hides the socket's error code under "fetch failed", and these
 * codes are what tell a person whether the host, TLS or the engine is at fault. Redirects are never
 * followed (text would go to a host nobody added); aborting destroys the socket, so the engine sees
 * the request go away and stops generating.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { cancelled } from "../errors.ts";

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: IncomingMessage["headers"];
  body: IncomingMessage;
}

export interface HttpOptions {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** A connection that has not opened by then fails, rather than wait for the system's long timeout. */
const CONNECT_TIMEOUT_MS = 15_000;
/**
 * A socket silent this long fails. Generous: a busy engine may queue a request, or prefill a long
 * prompt, for minutes before its first token.
 */
const IDLE_TIMEOUT_MS = 300_000;

function timeoutError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Keeps connections to one engine alive between requests; destroy() when the engine goes. */
export class EngineConnections {
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

  request(url: URL, options: HttpOptions): Promise<HttpAnswer> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(cancelled("The request"));
    const secure = url.protocol === "https:";
    const send = secure ? httpsRequest : httpRequest;
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const req = send(url, {
        method: options.method,
        headers: {
          ...options.headers,
          ...(options.body !== undefined
            ? { "content-length": String(Buffer.byteLength(options.body)) }
            : {}),
        },
        agent: secure ? this.https : this.http,
        signal,
      });
      req.on("error", (error) => fail(signal?.aborted ? cancelled("The request") : error));
      req.setTimeout(IDLE_TIMEOUT_MS, () =>
        req.destroy(timeoutError("EIDLE_TIMEOUT", "the engine stopped answering")),
      );
      req.on("socket", (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () => req.destroy(timeoutError("ECONNECT_TIMEOUT", "connecting timed out")),
          CONNECT_TIMEOUT_MS,
        );
        socket.once(secure ? "secureConnect" : "connect", () => clearTimeout(timer));
        socket.once("close", () => clearTimeout(timer));
      });
      req.on("response", (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? "",
          headers: res.headers,
          body: res,
        });
      });
      req.end(options.body);
    });
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/** The body as text, at most `limit` bytes of it (an error page can be large). */
export async function readText(body: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
