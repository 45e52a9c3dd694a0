/**
 * Browser mode's door: the engine serves this page on 127.0.0.1 and answers the contract over HTTP.
 * Calls are POST /api/call/<name> with a JSON body; events arrive on one server-sent event stream,
 * GET /api/events. The per-launch token comes once in the page's address (?token=...); it is kept for
 * this tab only and taken out of the address bar so it does not end up in history or screenshots.
 */
import type { CallInput, CallName, CallOutput, ElmwoodApi, EventName } from "../../engine/api/contract.ts";
import { EVENT_NAMES, isEventName } from "../../engine/api/names.ts";
import { unwrapResult } from "./envelope.ts";
import { CallError, isErrorInfo } from "./errors.ts";

export type ConnectionState = "connecting" | "open" | "lost";

export interface HttpApiOptions {
  /** The server's origin, e.g. "http://127.0.0.1:7860". */
  base: string;
  token: string | null;
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
}

export interface HttpApi extends ElmwoodApi {
  /** Follows the event stream's connection; returns the function that stops following. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}

const TOKEN_KEY = "elmwood.token";

/** The token from ?token= (then removed from the address), else the one this tab kept. */
export function takeToken(location: Location, storage: Storage, history: History): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete("token");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY);
}

const unreachable = (): CallError =>
  new CallError({
    code: "NETWORK",
    message: "Elmwood's engine did not answer.",
    hint: "Check that `elmwood serve` is still running, then reload this page.",
  });

async function failureOf(response: Response): Promise<CallError> {
  const body: unknown = await response.json().catch(() => null);
  const error = (body as { error?: unknown } | null)?.error;
  if (isErrorInfo(error)) return new CallError(error);
  if (response.status === 401 || response.status === 403) {
    return new CallError({
      code: "BAD_INPUT",
      message: "The engine refused this page: its access token is missing or out of date.",
      hint: "Open the address that `elmwood serve` printed, with its token.",
    });
  }
  return new CallError({
    code: "INTERNAL",
    message: `The engine answered with HTTP ${response.status}.`,
    hint: "Try again; if it keeps happening, restart `elmwood serve`.",
  });
}

/** One event from the stream: named (`event: chat.token`) or wrapped ({ event, payload }). */
function parseEvent(type: string, data: string): { name: EventName; payload: unknown } | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (isEventName(type)) return { name: type, payload: value };
  if (typeof value !== "object" || value === null) return null;
  const wrapped = value as Record<string, unknown>;
  const name = wrapped.event ?? wrapped.name ?? wrapped.type;
  if (!isEventName(name)) return null;
  return { name, payload: wrapped.payload ?? wrapped.data };
}

export function httpApi(options: HttpApiOptions): HttpApi {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const Source = options.EventSource ?? globalThis.EventSource;
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  const connection = new Set<(state: ConnectionState) => void>();
  let source: EventSource | null = null;
  let state: ConnectionState = "connecting";

  const setState = (next: ConnectionState) => {
    if (next === state) return;
    state = next;
    for (const listener of connection) listener(next);
  };

  const dispatch = (type: string, data: string) => {
    const event = parseEvent(type, data);
    if (!event) return;
    for (const listener of listeners.get(event.name) ?? []) listener(event.payload as never);
  };

  const open = () => {
    if (source) return;
    const url = new URL("/api/events", options.base);
    if (options.token) url.searchParams.set("token", options.token);
    source = new Source(url.href, { withCredentials: true });
    source.onopen = () => setState("open");
    // EventSource reconnects by itself; say so while it does.
    source.onerror = () => setState("lost");
    source.onmessage = (message) => dispatch("message", message.data);
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (message) => dispatch(name, (message as MessageEvent<string>).data));
    }
  };

  return {
    async call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>> {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      let response: Response;
      try {
        response = await doFetch(new URL(`/api/call/${name}`, options.base).href, {
          method: "POST",
          headers,
          body: JSON.stringify(input ?? {}),
          credentials: "same-origin",
        });
      } catch {
        throw unreachable();
      }
      if (!response.ok) throw await failureOf(response);
      return unwrapResult(await response.json()) as CallOutput<N>;
    },
    on(event, listener) {
      open();
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: never) => void);
      return () => set.delete(listener as (payload: never) => void);
    },
    onConnection(listener) {
      connection.add(listener);
      listener(state);
      return () => connection.delete(listener);
    },
    close() {
      source?.close();
      source = null;
    },
  };
}
