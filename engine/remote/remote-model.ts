/**
 * A remote engine's model behind the service's interfaces: a PromptModel that hands the engine
 * messages (or text) as they are, since the chat template and the tokenizer are the engine's, and a
 * GenerationBackend that streams the reply from its chat or completions endpoint.
 */
import { brokeOff } from "../chat/interruption.ts";
import { ElmwoodError } from "../errors.ts";
import type {
  GenerationBackend,
  GenerationCallbacks,
  GenerationRequest,
  GenerationResult,
  PromptModel,
} from "../service/generation.ts";
import type { OpenAiClient, StreamOutcome } from "./client.ts";
import { calibratedTokens, estimateMessageTokens, estimateTextTokens } from "./estimate.ts";

/** What every remote model's replies are kept as: text, with no token ids of ours. */
export const REMOTE_FAMILY = "remote";

export interface RemoteModelRef {
  /** `<engine>/<id>` */
  name: string;
  /** The model's id on its engine. */
  id: string;
  engine: string;
  host: string;
  contextLength: number;
}

export function remotePromptModel(model: RemoteModelRef): PromptModel {
  return {
    name: model.name,
    contextLength: model.contextLength,
    family: REMOTE_FAMILY,
    remote: { engine: model.engine, host: model.host },
    prepare(messages) {
      const plain = messages.map(({ role, content }) => ({ role, content }));
      return {
        prompt: { kind: "messages", messages: plain },
        tokens: calibratedTokens(messages),
        estimated: true,
        stopStrings: [],
      };
    },
    prepareText(text) {
      return {
        prompt: { kind: "text", text },
        tokens: estimateTextTokens(text) + 1,
        estimated: true,
        stopStrings: [],
      };
    },
    count: (messages) => estimateMessageTokens(messages),
  };
}

/** OpenAI takes at most four stop sequences; Elmwood's API passes on up to four of its caller's. */
const MAX_STOPS = 4;

export class RemoteGenerator implements GenerationBackend {
  private inFlight = 0;

  constructor(
    private readonly client: OpenAiClient,
    private readonly model: RemoteModelRef,
    /** Called when a generation starts or ends (the status says "sent to <host>" meanwhile). */
    private readonly onActivity: () => void = () => undefined,
  ) {}

  get running(): boolean {
    return this.inFlight > 0;
  }

  /** The engine keeps its own queue; Elmwood does not hold requests back. */
  get waiting(): number {
    return 0;
  }

  async close(): Promise<void> {}

  async generate(request: GenerationRequest, callbacks: GenerationCallbacks = {}): Promise<GenerationResult> {
    const { prompt, sampling } = request;
    if (prompt.kind === "tokens") {
      throw new ElmwoodError(
        "BAD_INPUT",
        `${this.model.name} is a remote model: it takes text, not token ids.`,
        "Give the prompt as text.",
      );
    }
    const body: Record<string, unknown> = {
      model: this.model.id,
      ...(prompt.kind === "messages" ? { messages: prompt.messages } : { prompt: prompt.text }),
      max_tokens: request.maxNewTokens,
      temperature: sampling.temperature,
      // Top-k, min-p and the repetition penalty are not in the OpenAI API (and Elmwood's own API
      // refuses what it does not know): the engine's defaults apply.
      ...(sampling.temperature > 0 && sampling.topP < 1 ? { top_p: sampling.topP } : {}),
      ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
      ...(request.stopStrings?.length ? { stop: request.stopStrings.slice(0, MAX_STOPS) } : {}),
    };
    this.inFlight++;
    this.onActivity();
    try {
      const outcome = await this.client.stream(
        prompt.kind === "messages" ? "/chat/completions" : "/completions",
        body,
        {
          signal: callbacks.signal,
          onStart: callbacks.onStart,
          onText: (text) => callbacks.onToken?.({ id: -1, text }),
        },
      );
      return this.result(outcome, request);
    } finally {
      this.inFlight--;
      this.onActivity();
    }
  }

  private result(outcome: StreamOutcome, request: GenerationRequest): GenerationResult {
    const { usage } = outcome;
    const promptTokens =
      usage?.promptTokens ??
      (request.prompt.kind === "messages"
        ? estimateMessageTokens(request.prompt.messages)
        : estimateTextTokens(request.prompt.kind === "text" ? request.prompt.text : ""));
    const completionTokens = usage?.completionTokens ?? outcome.pieces;
    const decodeMs = outcome.totalMs - outcome.firstTokenMs;
    return {
      text: outcome.text,
      tokens: [],
      finishReason: outcome.end === "length" ? "length" : outcome.end === "stop" ? "eos" : "cancelled",
      promptTokens,
      completionTokens,
      reusedTokens: usage?.cachedTokens ?? 0,
      estimated: usage === null,
      firstTokenMs: outcome.firstTokenMs,
      tokensPerSecond: decodeMs > 0 && completionTokens > 1 ? ((completionTokens - 1) / decodeMs) * 1000 : 0,
      ...(outcome.broken
        ? { interruption: brokeOff(outcome.broken.cause, this.model.host, outcome.broken.error.message) }
        : {}),
    };
  }
}
