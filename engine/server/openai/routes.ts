/**
 * The OpenAI-compatible routes: translation between OpenAI's shapes and the contract, nothing more.
 * Generation goes through the same `completions.create` call and events as every other door; this
 * file adds admission per model, streaming, and cancelling when the client goes away.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallOutput } from "../../api/contract.ts";
import { isElmwoodError } from "../../errors.ts";
import type { AdmissionGate } from "../admission.ts";
import type { CompletionRouter } from "../completion-router.ts";
import type { EngineDoor } from "../door.ts";
import { HttpProblem, parseJsonBody, readBody, sendJson } from "../http-io.ts";
import { type SseOptions, SseStream } from "../sse.ts";
import { openAiFailure } from "./errors.ts";
import { type ParsedRequest, parseChatRequest, parseCompletionRequest } from "./requests.ts";
import {
  chatShape,
  openAiFinish,
  type ResponseIdentity,
  type ResponseShape,
  textShape,
} from "./responses.ts";

export interface OpenAiDeps {
  door: EngineDoor;
  router: CompletionRouter;
  gate: AdmissionGate;
  bodyBytes: number;
  sse: SseOptions;
  /** Fires when the server shuts down: every generation is cancelled. */
  shutdown: AbortSignal;
}

type ModelList = CallOutput<"models.list">;

/**
 * A model as OpenAI lists it, with vLLM's `max_model_len`, so a client (another Elmwood among them)
 * can size its prompts. Remote engines' models are listed too: this server forwards to them.
 */
function modelObjects(list: ModelList) {
  const local = list.models.map((model) => {
    const created = Math.floor(Date.parse(model.createdAt) / 1000);
    return {
      id: model.name,
      object: "model",
      created: Number.isFinite(created) ? created : 0,
      owned_by: "elmwood",
      max_model_len: model.contextLength,
    };
  });
  const remote = list.remote.map((model) => ({
    id: model.name,
    object: "model",
    created: 0,
    owned_by: model.engine,
    max_model_len: model.contextLength,
  }));
  return [...local, ...remote];
}

async function listModels(res: ServerResponse, deps: OpenAiDeps, id?: string): Promise<void> {
  const models = modelObjects((await deps.door.call("models.list", {})) as ModelList);
  if (id === undefined) {
    sendJson(res, 200, { object: "list", data: models });
    return;
  }
  const model = models.find((m) => m.id === id);
  if (!model) {
    throw new HttpProblem(
      404,
      "NOT_FOUND",
      `The model '${id}' does not exist.`,
      "GET /v1/models lists them.",
      {
        param: "model",
        apiCode: "model_not_found",
      },
    );
  }
  sendJson(res, 200, model);
}

/** The engine's NOT_FOUND for a named model, as OpenAI reports it. */
function asModelNotFound(error: unknown, parsed: ParsedRequest): unknown {
  if (isElmwoodError(error) && error.code === "NOT_FOUND" && parsed.input.model !== undefined) {
    return new HttpProblem(404, "NOT_FOUND", error.message, error.hint, {
      param: "model",
      apiCode: "model_not_found",
    });
  }
  return error;
}

async function generate(
  req: IncomingMessage,
  res: ServerResponse,
  deps: OpenAiDeps,
  shape: ResponseShape,
  parseBody: (body: unknown) => ParsedRequest,
): Promise<void> {
  const parsed = parseBody(parseJsonBody(await readBody(req, deps.bodyBytes)));
  const ticket = deps.gate.enter(parsed.input.model ?? "");
  const controller = new AbortController();
  // 'close' before the answer is finished: the client disconnected, so its generation is cancelled.
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  const onShutdown = () => controller.abort();
  res.once("close", onClose);
  deps.shutdown.addEventListener("abort", onShutdown, { once: true });

  const created = Math.floor(Date.now() / 1000);
  let who: ResponseIdentity = { id: shape.idPrefix, created, model: parsed.requestedModel ?? "" };
  // Headers wait for the first event, so a refusal from the engine (a full queue, an unknown model)
  // still gets its own status rather than an error inside a 200 stream.
  let stream: SseStream | undefined;
  const open = (): SseStream => {
    if (stream) return stream;
    stream = new SseStream(res, deps.sse);
    const first = shape.opening(who);
    if (first) stream.send(JSON.stringify(first));
    return stream;
  };
  try {
    const outcome = await deps.router.run(parsed.input, {
      signal: controller.signal,
      onAccepted: (requestId, model) => {
        who = { id: shape.idPrefix + requestId, created, model };
      },
      onDelta: parsed.stream ? (delta) => open().send(JSON.stringify(shape.delta(who, delta))) : undefined,
    });
    const finish = openAiFinish(outcome.finishReason);
    if (!parsed.stream) {
      sendJson(res, 200, shape.full(who, outcome.text, finish, outcome.usage));
      return;
    }
    const sse = open();
    sse.send(JSON.stringify(shape.closing(who, finish)));
    if (parsed.includeUsage) sse.send(JSON.stringify(shape.usage(who, outcome.usage)));
    sse.send("[DONE]");
    sse.end();
  } catch (error) {
    if (controller.signal.aborted && !deps.shutdown.aborted) return;
    const reason = deps.shutdown.aborted
      ? new HttpProblem(503, "CANCELLED", "Elmwood is shutting down.", "Start it again, then retry.")
      : asModelNotFound(error, parsed);
    const failure = openAiFailure(reason, deps.gate.retryAfterSeconds());
    if (stream) {
      // Mid-stream the status is spent; OpenAI's clients raise an `error` event as an exception.
      stream.send(JSON.stringify(failure.body));
      stream.end();
    } else {
      sendJson(res, failure.status, failure.body, failure.headers);
    }
  } finally {
    ticket.leave();
    res.off("close", onClose);
    deps.shutdown.removeEventListener("abort", onShutdown);
  }
}

/** A malformed escape cannot name a model: it is kept as written, which matches nothing. */
function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function methodNotAllowed(allow: string): HttpProblem {
  return new HttpProblem(405, "BAD_INPUT", `Use ${allow} for this route.`, undefined, {
    headers: { Allow: allow },
  });
}

/** Routes one /v1 request; throws what the server renders in OpenAI's error shape. */
export async function handleOpenAi(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: OpenAiDeps,
): Promise<void> {
  const method = req.method ?? "GET";
  if (path === "/v1/models" || path.startsWith("/v1/models/")) {
    if (method !== "GET") throw methodNotAllowed("GET");
    const id = path === "/v1/models" ? undefined : decodePathPart(path.slice("/v1/models/".length));
    return listModels(res, deps, id);
  }
  if (path === "/v1/chat/completions" || path === "/v1/completions") {
    if (method !== "POST") throw methodNotAllowed("POST");
    return path === "/v1/chat/completions"
      ? generate(req, res, deps, chatShape, parseChatRequest)
      : generate(req, res, deps, textShape, parseCompletionRequest);
  }
  throw new HttpProblem(404, "NOT_FOUND", `There is no route ${method} ${path.slice(0, 200)}.`, undefined, {
    apiCode: "unknown_url",
  });
}
