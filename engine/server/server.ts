/**
 * The engine's loopback HTTP server: browser mode (the renderer and the contract over HTTP + SSE) and
 * the OpenAI-compatible API under /v1, over one EngineDoor. Every request passes the Host and Origin
 * checks, then its door's token check; nothing is answered to a stranger.
 */
import { setMaxListeners } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { ElmwoodError, isElmwoodError } from "../errors.ts";
import { DEFAULT_PORT, newToken } from "../settings/api-settings.ts";
import { AdmissionGate } from "./admission.ts";
import { CompletionRouter } from "./completion-router.ts";
import { handleCall, handleEvents, sendContractError } from "./contract-routes.ts";
import type { EngineDoor } from "./door.ts";
import { checkHost, checkOrigin, type HostPolicy, isLoopbackAddress, LOOPBACK_NAMES } from "./guard.ts";
import { HttpProblem, sendJson } from "./http-io.ts";
import { openAiFailure } from "./openai/errors.ts";
import { handleOpenAi } from "./openai/routes.ts";
import { DEFAULT_RENDERER_DIR, sendPage, serveRenderer } from "./static-files.ts";
import { bearerToken, cookieValue, sameToken } from "./tokens.ts";

export { DEFAULT_PORT };

export interface ServerLimits {
  /** Largest JSON body for a call or an API request. */
  bodyBytes: number;
  /** Largest body for documents.summarize, which carries a whole document. */
  documentBodyBytes: number;
  /** Open sockets at once; more are dropped on arrival (server.maxConnections). */
  maxConnections: number;
  /** Open /api/events streams at once. */
  maxEventStreams: number;
  /** API generations per model at once, running and waiting; more get 429. */
  maxPendingPerModel: number;
  headersTimeoutMs: number;
  /** Time to receive a whole request (headers and body); answers may stream for longer. */
  requestTimeoutMs: number;
  heartbeatMs: number;
  /** Bytes queued for a stream's slow reader before it is dropped. */
  streamBufferBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 1024 * 1024,
  documentBodyBytes: 24 * 1024 * 1024,
  maxConnections: 64,
  maxEventStreams: 16,
  // One running plus the model host's default queue of 16.
  maxPendingPerModel: 17,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  heartbeatMs: 15_000,
  streamBufferBytes: 4 * 1024 * 1024,
};

export interface ServerOptions {
  door: EngineDoor;
  /** Address to listen on; default 127.0.0.1. Anything but loopback needs `allowRemote`. */
  host?: string;
  /** Default DEFAULT_PORT; 0 picks a free one. */
  port?: number;
  /** The person explicitly chose to serve beyond this machine. */
  allowRemote?: boolean;
  /** More names the Host header may carry (with allowRemote), e.g. "my-desktop.local". */
  allowedHosts?: string[];
  /** Browser mode; default on with a fresh per-launch token. */
  ui?: false | { token?: string; rendererDir?: string };
  /** The OpenAI-compatible API; off unless given. */
  api?: false | { token: string };
  limits?: Partial<ServerLimits>;
  /** Failures that are bugs (INTERNAL), for a log. */
  onInternalError?: (error: unknown) => void;
}

export interface RunningServer {
  host: string;
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The page with its token, to open once in a browser. */
  uiUrl?: string;
  uiToken?: string;
  /** http://127.0.0.1:PORT/v1 */
  apiBaseUrl?: string;
  apiToken?: string;
  close(): Promise<void>;
}

type DoorKind = "openai" | "contract" | "page";

function doorOf(pathname: string): DoorKind {
  if (pathname === "/v1" || pathname.startsWith("/v1/")) return "openai";
  if (pathname === "/api" || pathname.startsWith("/api/")) return "contract";
  return "page";
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Names the Host header may carry: loopback always, and with allowRemote this machine's addresses. */
function allowedNames(host: string, allowRemote: boolean, extra: string[]): Set<string> {
  const names = new Set<string>(LOOPBACK_NAMES);
  if (!allowRemote) return names;
  names.add(formatHost(host).toLowerCase());
  names.add(hostname().toLowerCase());
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) names.add(formatHost(address.address).toLowerCase());
  }
  for (const name of extra) names.add(name.toLowerCase());
  return names;
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") {
        reject(
          new ElmwoodError(
            "BUSY",
            `Port ${port} on ${host} is already in use.`,
            "Choose another with --port, or --port 0 for any free port.",
          ),
        );
      } else {
        reject(new ElmwoodError("BAD_INPUT", `Cannot listen on ${host}:${port}: ${error.message}.`));
      }
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const allowRemote = options.allowRemote === true;
  if (!isLoopbackAddress(host) && !allowRemote) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `Listening on ${host} would let other machines reach Elmwood.`,
      "Serve on 127.0.0.1 (the default), or opt in explicitly with --allow-remote.",
    );
  }
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const ui = options.ui === false ? undefined : { token: options.ui?.token ?? newToken(), ...options.ui };
  const rendererDir = ui?.rendererDir ?? DEFAULT_RENDERER_DIR;
  const api = options.api || undefined;
  const { door } = options;

  const shutdown = new AbortController();
  // Every generation in flight listens for shutdown; there may be as many as there are connections.
  setMaxListeners(limits.maxConnections + 1, shutdown.signal);
  const router = new CompletionRouter(door);
  const gate = new AdmissionGate(limits.maxPendingPerModel);
  const eventStreams = new Set<() => void>();
  const sse = { heartbeatMs: limits.heartbeatMs, maxBufferedBytes: limits.streamBufferBytes };
  let policy: HostPolicy = { port: 0, names: new Set() };
  let cookieName = "elmwood";

  const report = (error: unknown) => {
    if (!isElmwoodError(error) || error.code === "INTERNAL") options.onInternalError?.(error);
  };

  const uiTokenOf = (req: IncomingMessage) => bearerToken(req) ?? cookieValue(req, cookieName);

  async function page(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!ui) {
      sendPage(res, 404, "Not found", "This server runs Elmwood's API only.");
      return;
    }
    const given = url.searchParams.get("token");
    if (given !== null) {
      if (!sameToken(given, ui.token)) {
        sendPage(res, 401, "Wrong token", "Open the address that `elmwood serve` printed, as printed.");
        return;
      }
      // The token leaves the address bar at once and lives on in a cookie scripts cannot read.
      url.searchParams.delete("token");
      const rest = url.searchParams.toString();
      res.writeHead(303, {
        "Set-Cookie": `${cookieName}=${ui.token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: `${url.pathname}${rest ? `?${rest}` : ""}`,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
      });
      res.end();
      return;
    }
    if (!sameToken(uiTokenOf(req), ui.token)) {
      sendPage(
        res,
        401,
        "Elmwood needs its token",
        "Open the address that `elmwood serve` printed; it carries the token.",
      );
      return;
    }
    await serveRenderer(req, res, url.pathname, rendererDir);
  }

  async function contract(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!ui) throw new HttpProblem(404, "NOT_FOUND", "Browser mode is off on this server.");
    // EventSource cannot send headers: where cookies are off, the stream may carry the token in its URL.
    const fromQuery = url.pathname === "/api/events" ? url.searchParams.get("token") : null;
    if (!sameToken(uiTokenOf(req) ?? fromQuery ?? undefined, ui.token)) {
      throw new HttpProblem(
        401,
        "BAD_INPUT",
        "Missing or wrong token.",
        "Open the address that `elmwood serve` printed.",
        {
          headers: { "WWW-Authenticate": 'Bearer realm="elmwood"' },
        },
      );
    }
    if (url.pathname.startsWith("/api/call/")) {
      return handleCall(req, res, url.pathname.slice("/api/call/".length), door, limits);
    }
    if (url.pathname === "/api/events") {
      if (eventStreams.size >= limits.maxEventStreams) {
        throw new HttpProblem(
          429,
          "BUSY",
          `${eventStreams.size} event streams are already open.`,
          "Close another tab.",
        );
      }
      const close = handleEvents(req, res, url.searchParams, door, sse);
      eventStreams.add(close);
      res.once("close", () => eventStreams.delete(close));
      return;
    }
    throw new HttpProblem(404, "NOT_FOUND", `There is no route ${url.pathname.slice(0, 200)}.`);
  }

  async function openai(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!api) {
      throw new HttpProblem(
        404,
        "NOT_FOUND",
        "The local API is off.",
        "Turn it on in Settings, or run `elmwood serve --api`.",
        { apiCode: "api_disabled" },
      );
    }
    if (!sameToken(bearerToken(req), api.token)) {
      throw new HttpProblem(
        401,
        "BAD_INPUT",
        "Incorrect or missing API token.",
        "Send `Authorization: Bearer <token>` with the token shown in Settings or printed by `elmwood serve --api`.",
        { apiCode: "invalid_api_key", headers: { "WWW-Authenticate": 'Bearer realm="elmwood"' } },
      );
    }
    await handleOpenAi(req, res, url.pathname, {
      door,
      router,
      gate,
      bodyBytes: limits.bodyBytes,
      sse,
      shutdown: shutdown.signal,
    });
  }

  function fail(kind: DoorKind, res: ServerResponse, error: unknown): void {
    report(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (kind === "openai") {
      const failure = openAiFailure(error, gate.retryAfterSeconds());
      sendJson(res, failure.status, failure.body, failure.headers);
    } else if (kind === "contract") {
      sendContractError(res, error, gate.retryAfterSeconds());
    } else {
      const status = error instanceof HttpProblem ? error.status : 500;
      const message = isElmwoodError(error) ? error.toLine() : "Something went wrong inside Elmwood.";
      sendPage(res, status, status === 403 ? "Not allowed" : "Elmwood could not answer", message);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://elmwood.invalid");
    } catch {
      fail("page", res, new HttpProblem(400, "BAD_INPUT", "The request's address is malformed."));
      return;
    }
    const kind = doorOf(url.pathname);
    try {
      checkHost(req, policy);
      checkOrigin(req, policy);
      if (kind === "openai") await openai(req, res, url);
      else if (kind === "contract") await contract(req, res, url);
      else await page(req, res, url);
    } catch (error) {
      fail(kind, res, error);
    }
  }

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often those timeouts are checked (Node's default, 30 s, would let a slow client linger).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    const status =
      error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "408 Request Timeout"
        : error.code === "HPE_HEADER_OVERFLOW"
          ? "431 Request Header Fields Too Large"
          : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });

  await listen(server, options.port ?? DEFAULT_PORT, host);
  const port = (server.address() as AddressInfo).port;
  policy = { port, names: allowedNames(host, allowRemote, options.allowedHosts ?? []) };
  // Cookies ignore ports: two servers on one machine must not share (or overwrite) one.
  cookieName = `elmwood_${port}`;
  const shownHost = isLoopbackAddress(host)
    ? "127.0.0.1"
    : host === "0.0.0.0" || host === "::"
      ? "127.0.0.1"
      : formatHost(host);
  const origin = `http://${shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    origin,
    uiUrl: ui ? `${origin}/?token=${ui.token}` : undefined,
    uiToken: ui?.token,
    apiBaseUrl: api ? `${origin}/v1` : undefined,
    apiToken: api?.token,
    close() {
      closing ??= new Promise<void>((resolve) => {
        shutdown.abort();
        for (const close of [...eventStreams]) close();
        server.close(() => {
          router.close();
          resolve();
        });
        server.closeIdleConnections();
        // Answers already on their way get a moment; then every socket goes.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      return closing;
    },
  };
}
