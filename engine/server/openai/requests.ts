/**
 * OpenAI's request bodies for /v1/chat/completions and /v1/completions, checked field by field and
 * translated into the contract's CompletionInput. Fields that apply (messages, max_tokens,
 * temperature, top_p, stop, seed, stream) are honoured; fields that would change the answer in ways
 * OpenELM cannot (n > 1, tools, logprobs, penalties) are refused by name rather than silently ignored.
 */
import { z } from "zod";
import { type CompletionInput, ModelRef } from "../../api/contract.ts";
import { HttpProblem } from "../http-io.ts";

/** OpenELM's window (max_context_length): no reply can be longer. */
export const MAX_COMPLETION_TOKENS = 2048;
/** OpenAI's default for the legacy completions endpoint. */
const LEGACY_DEFAULT_MAX_TOKENS = 16;

const Text = z.string().max(32_000);
const Stop = z.union([z.string().min(1).max(64), z.array(z.string().min(1).max(64)).min(1).max(4)]);
const MaxTokens = z.number().int().min(1).max(MAX_COMPLETION_TOKENS);
// OpenAI takes any 64-bit seed; the sampler's is 32-bit, so a seed is folded into that range below.
const Seed = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const StreamOptions = z.strictObject({ include_usage: z.boolean().optional() });
const Zero = z.literal(0);

/** Accepted and ignored: they describe the caller, not the answer. */
const Passive = {
  user: z.string().max(256).optional(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  service_tier: z.string().max(32).nullish(),
};

/** Shared sampling fields; a penalty is accepted only at its no-op value (0). */
const Sampling = {
  model: z.string().min(1).max(200).optional(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: Stop.nullish(),
  seed: Seed.nullish(),
  stream: z.boolean().nullish(),
  stream_options: StreamOptions.nullish(),
  n: z.literal(1, "only n = 1 is supported").nullish(),
  frequency_penalty: Zero.nullish(),
  presence_penalty: Zero.nullish(),
  logit_bias: z
    .record(z.string(), z.number())
    .refine((v) => Object.keys(v).length === 0, "is not supported")
    .nullish(),
  ...Passive,
};

const SamplingFields = z.object(Sampling);
type SamplingBody = z.output<typeof SamplingFields>;

const TextPart = z.strictObject({ type: z.literal("text"), text: Text });
const Content = z.union([Text, z.array(TextPart).min(1).max(64)]);

const ChatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: Content,
  name: z.string().max(64).optional(),
});

const ChatBody = z.strictObject({
  messages: z.array(ChatMessage).min(1).max(256),
  max_tokens: MaxTokens.nullish(),
  max_completion_tokens: MaxTokens.nullish(),
  logprobs: z.literal(false, "is not supported").nullish(),
  response_format: z.strictObject({ type: z.literal("text", "only 'text' is supported") }).nullish(),
  ...Sampling,
});

const CompletionBody = z.strictObject({
  prompt: z.union([Text, z.array(Text).length(1, "must be one prompt")]),
  max_tokens: MaxTokens.nullish(),
  echo: z.literal(false, "is not supported").nullish(),
  suffix: z.null().optional(),
  best_of: z.literal(1, "only best_of = 1 is supported").nullish(),
  logprobs: z.null().optional(),
  ...Sampling,
});

/** What the routes need besides the contract input. */
export interface ParsedRequest {
  input: CompletionInput;
  /** The model the client named, echoed back in the response. */
  requestedModel: string | undefined;
  stream: boolean;
  includeUsage: boolean;
}

function fieldOf(path: readonly PropertyKey[]): string {
  let name = "";
  for (const key of path)
    name += typeof key === "number" ? `[${key}]` : name ? `.${String(key)}` : String(key);
  return name;
}

function refuse(error: z.ZodError): never {
  const issue = error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const where = fieldOf([...issue.path, key]);
    throw new HttpProblem(400, "BAD_INPUT", `Unrecognized request argument supplied: ${where}.`, undefined, {
      param: where,
    });
  }
  const param = fieldOf(issue.path) || null;
  const what = issue.message.replace(/^Invalid input: /, "");
  throw new HttpProblem(
    400,
    "BAD_INPUT",
    param ? `Invalid value for '${param}': ${what}.` : `Invalid request body: ${what}.`,
    undefined,
    param ? { param } : {},
  );
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpProblem(400, "BAD_INPUT", "The request body must be a JSON object.");
  }
  const result = schema.safeParse(body);
  if (!result.success) refuse(result.error);
  return result.data;
}

/**
 * A model the store could hold, or a remote engine's (`<engine>/<model>`, which this server forwards
 * to); anything else cannot exist, so it is 404 before the engine is asked.
 */
function modelName(model: string | undefined): string | undefined {
  if (model === undefined) return undefined;
  if (!ModelRef.safeParse(model).success) {
    throw new HttpProblem(
      404,
      "NOT_FOUND",
      `The model '${model}' does not exist.`,
      "GET /v1/models lists them.",
      {
        param: "model",
        apiCode: "model_not_found",
      },
    );
  }
  return model;
}

/** Any integer seed, folded into the sampler's 32-bit range (the same seed always gives the same one). */
function foldSeed(seed: number): number {
  const m = 2 ** 32;
  return ((seed % m) + m) % m;
}

function sampling(body: SamplingBody, maxTokens: number | undefined) {
  const out: NonNullable<CompletionInput["sampling"]> = {};
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) {
    // top_p 0 keeps only the most likely token: greedy, which the sampler spells temperature 0.
    if (body.top_p === 0) out.temperature = 0;
    else out.topP = body.top_p;
  }
  if (body.seed != null) out.seed = foldSeed(body.seed);
  if (maxTokens !== undefined) out.maxTokens = maxTokens;
  return out;
}

function stops(stop: string | string[] | null | undefined): string[] | undefined {
  if (stop == null) return undefined;
  return typeof stop === "string" ? [stop] : stop;
}

function finish(
  body: SamplingBody,
  text: Pick<CompletionInput, "messages" | "prompt">,
  maxTokens: number | undefined,
): ParsedRequest {
  const input: CompletionInput = { ...text, sampling: sampling(body, maxTokens) };
  const model = modelName(body.model);
  if (model !== undefined) input.model = model;
  const stop = stops(body.stop);
  if (stop) input.stop = stop;
  return {
    input,
    requestedModel: body.model,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
  };
}

export function parseChatRequest(body: unknown): ParsedRequest {
  const chat = parse(ChatBody, body);
  const messages = chat.messages.map((m) => ({
    // "developer" is OpenAI's newer name for the system role.
    role: m.role === "developer" ? ("system" as const) : m.role,
    content: typeof m.content === "string" ? m.content : m.content.map((part) => part.text).join(""),
  }));
  if (messages.some((m) => m.content.length > 32_000)) {
    throw new HttpProblem(400, "BAD_INPUT", "A message is longer than 32000 characters.", undefined, {
      param: "messages",
    });
  }
  return finish(chat, { messages }, chat.max_completion_tokens ?? chat.max_tokens ?? undefined);
}

export function parseCompletionRequest(body: unknown): ParsedRequest {
  const completion = parse(CompletionBody, body);
  const prompt = typeof completion.prompt === "string" ? completion.prompt : completion.prompt[0];
  // Plain text continued as written, whatever the model's chat template.
  return finish(completion, { prompt }, completion.max_tokens ?? LEGACY_DEFAULT_MAX_TOKENS);
}
