/**
 * A stand-in for ElmwoodService with the same call/on surface: completions "generate" a reply made
 * from the prompt (so each answer can be traced to its request), one at a time, in order, with a
 * bounded queue; tests can hold the generator to watch queueing, disconnects and refusals.
 */
import type { CallName, EventName, EventPayload, ModelInfo } from "../../engine/api/contract.ts";
import { toErrorInfo, validateCall } from "../../engine/api/validate.ts";
import { ElmwoodError } from "../../engine/errors.ts";
import type { EngineDoor } from "../../engine/server/door.ts";

type Listener = (payload: never) => void;

interface Job {
  requestId: string;
  words: string[];
  cancelled: boolean;
  stop: string[];
  promptTokens: number;
}

/** The reply the fake writes for a prompt: its words, reversed, each ending in a space. */
export function fakeReply(prompt: string, maxTokens: number): string[] {
  const words = `reply to ${prompt}`.split(/\s+/).filter(Boolean).reverse();
  return words.slice(0, maxTokens).map((w) => `${w} `);
}

export function fakeModel(name: string): ModelInfo {
  return {
    name,
    precision: "int4",
    bytes: 1000,
    parameters: 270_000_000,
    contextLength: 2048,
    isDefault: name === "fake-270m-instruct",
    createdAt: "2025-01-02T03:04:05.000Z",
    source: { path: "/nowhere", repoId: null, managed: true, present: true },
  };
}

export class FakeEngine implements EngineDoor {
  readonly calls: { name: CallName; input: unknown }[] = [];
  readonly cancelledIds = new Set<string>();
  /** Ids of accepted completions, in order. */
  readonly createdIds: string[] = [];
  readonly models = ["fake-270m-instruct", "fake-base"];
  private readonly listeners = new Map<EventName, Set<Listener>>();
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private nextId = 1;
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;
  /** Replies to these calls fail with this error. */
  failures = new Map<CallName, ElmwoodError>();
  /** Set: the next generation fails with this after its second token. */
  failMidway: ElmwoodError | undefined;
  /** Waiting requests beyond this are refused with BUSY (as the model host does). */
  maxQueue = 64;
  started: string[] = [];

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const listener of this.listeners.get(event) ?? [])
      (listener as (p: EventPayload<E>) => void)(payload);
  }

  /** Generation pauses before its next token until `resume()`. */
  hold(): void {
    if (this.held) return;
    this.held = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  resume(): void {
    this.release?.();
    this.held = undefined;
    this.release = undefined;
  }

  async call(name: CallName, input: unknown): Promise<unknown> {
    this.calls.push({ name, input });
    const failure = this.failures.get(name);
    if (failure) throw failure;
    const valid = validateCall(name, input);
    switch (name) {
      case "models.list":
        return {
          models: this.models.map(fakeModel),
          broken: [],
          downloads: [],
          remote: [],
          defaultModel: this.models[0],
        };
      case "completions.create":
        return this.create(valid as never);
      case "completions.cancel": {
        const { requestId } = valid as { requestId: string };
        this.cancelledIds.add(requestId);
        const job =
          this.running?.requestId === requestId
            ? this.running
            : this.queue.find((j) => j.requestId === requestId);
        if (job) job.cancelled = true;
        return { cancelled: job !== undefined };
      }
      case "status.get":
        return { echo: valid };
      default:
        return { name, input: valid };
    }
  }

  private create(input: {
    model?: string;
    messages?: { role: string; content: string }[];
    prompt?: string;
    sampling?: { maxTokens?: number };
    stop?: string[];
  }): { requestId: string; model: string } {
    const model = input.model ?? this.models[0];
    if (!this.models.includes(model)) {
      throw new ElmwoodError("NOT_FOUND", `There is no model named '${model}'.`, "Pull or import it first.");
    }
    const requestId = `req${this.nextId++}`;
    this.createdIds.push(requestId);
    const prompt = input.prompt ?? (input.messages ?? []).map((m) => m.content).join(" ");
    const job: Job = {
      requestId,
      words: fakeReply(prompt, input.sampling?.maxTokens ?? 64),
      cancelled: false,
      stop: input.stop ?? [],
      promptTokens: prompt.split(/\s+/).filter(Boolean).length + 1,
    };
    if (this.running && this.queue.length >= this.maxQueue) {
      // As the real service reports a full queue: after answering with the id.
      queueMicrotask(() =>
        this.emit("completion.error", {
          requestId,
          error: toErrorInfo(new ElmwoodError("BUSY", "The model is busy.", "Try again in a moment.")),
        }),
      );
      return { requestId, model };
    }
    this.queue.push(job);
    if (!this.running) void this.drain();
    return { requestId, model };
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      this.running = job;
      this.started.push(job.requestId);
      await this.generate(job);
    }
    this.running = undefined;
  }

  private async generate(job: Job): Promise<void> {
    let text = "";
    let count = 0;
    let finishReason: "eos" | "stop" | "cancelled" = "eos";
    for (const word of job.words) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.held) await this.held;
      if (job.cancelled) {
        finishReason = "cancelled";
        break;
      }
      const next = text + word;
      const hit = job.stop.find((s) => next.includes(s));
      if (hit) {
        text = next.slice(0, next.indexOf(hit));
        finishReason = "stop";
        break;
      }
      text = next;
      count++;
      this.emit("completion.token", { requestId: job.requestId, delta: word });
      if (count === 2 && this.failMidway) {
        const error = this.failMidway;
        this.failMidway = undefined;
        this.emit("completion.error", { requestId: job.requestId, error: toErrorInfo(error) });
        return;
      }
    }
    this.emit("completion.done", {
      requestId: job.requestId,
      text,
      finishReason,
      usage: { promptTokens: job.promptTokens, completionTokens: count, reusedTokens: 0 },
    });
  }
}
