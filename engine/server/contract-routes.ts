/**
 * Browser mode's transport: POST /api/call/<name> runs one contract call (input checked against the
 * contract's schema first), GET /api/events streams the contract's events as server-sent events.
 * Answers use the same envelope as IPC: `{ ok: true, value }` or `{ ok: false, error }`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type CallName, EVENT_NAMES, type EventName, isCallName, isEventName } from "../api/contract.ts";
import { toErrorInfo, validateCall } from "../api/validate.ts";
import { isElmwoodError } from "../errors.ts";
import type { EngineDoor } from "./door.ts";
import { HttpProblem, parseJsonBody, readBody, sendJson } from "./http-io.ts";
import { type SseOptions, SseStream } from "./sse.ts";
import { httpStatusFor } from "./status.ts";

export interface ContractLimits {
  /** Bytes of JSON a call may send. */
  bodyBytes: number;
  /** documents.summarize carries a whole dropped document, conversations.import a whole file. */
  documentBodyBytes: number;
}

/** Calls whose input is a whole file, allowed documentBodyBytes. */
const LARGE_BODIES: ReadonlySet<string> = new Set(["documents.summarize", "conversations.import"]);

/** The contract's error envelope with the status its code maps to. */
export function sendContractError(res: ServerResponse, error: unknown, retryAfterSeconds = 1): void {
  const info = toErrorInfo(error);
  const problem = error instanceof HttpProblem ? error : undefined;
  const status = problem?.status ?? (isElmwoodError(error) ? httpStatusFor(error.code) : 500);
  const headers: Record<string, string> = { ...problem?.extra.headers };
  if (status === 429 && !headers["Retry-After"]) headers["Retry-After"] = String(retryAfterSeconds);
  sendJson(res, status, { ok: false, error: info }, headers);
}

export async function handleCall(
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  door: EngineDoor,
  limits: ContractLimits,
): Promise<void> {
  if (!isCallName(name)) {
    throw new HttpProblem(
      404,
      "NOT_FOUND",
      `There is no call named '${name.slice(0, 80)}'.`,
      "Check the name against the API contract (engine/api/contract.ts).",
    );
  }
  if (req.method !== "POST") {
    throw new HttpProblem(405, "BAD_INPUT", "Calls are made with POST.", undefined, {
      headers: { Allow: "POST" },
    });
  }
  const limit = LARGE_BODIES.has(name) ? limits.documentBodyBytes : limits.bodyBytes;
  const input = validateCall(name as CallName, parseJsonBody(await readBody(req, limit)));
  const value = await door.call(name, input);
  sendJson(res, 200, { ok: true, value: value ?? null });
}

/** `?events=chat.token,chat.done` narrows the stream; by default every event is sent. */
function chosenEvents(query: URLSearchParams): EventName[] {
  const list = query.get("events");
  if (list === null || list === "") return [...EVENT_NAMES];
  const names = list.split(",").map((n) => n.trim());
  const unknown = names.find((n) => !isEventName(n));
  if (unknown !== undefined) {
    throw new HttpProblem(
      400,
      "BAD_INPUT",
      `There is no event named '${unknown.slice(0, 80)}'.`,
      `Events are: ${EVENT_NAMES.join(", ")}.`,
    );
  }
  return names as EventName[];
}

/** Keeps the stream open until the client leaves or the server closes it; returns its closer. */
export function handleEvents(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  door: EngineDoor,
  options: SseOptions,
): () => void {
  if (req.method !== "GET") {
    throw new HttpProblem(405, "BAD_INPUT", "The event stream is read with GET.", undefined, {
      headers: { Allow: "GET" },
    });
  }
  const names = chosenEvents(query);
  const stream = new SseStream(res, options);
  stream.comment("connected");
  const stops: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const stop of stops) stop();
    stream.end();
  };
  for (const event of names) {
    stops.push(
      door.on(event, (payload) => {
        if (!stream.send(JSON.stringify(payload), event)) close();
      }),
    );
  }
  res.once("close", close);
  return close;
}
