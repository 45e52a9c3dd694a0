/**
 * Stateless completions over the contract: `completions.create` answers with a request id at once and
 * the reply arrives as completion.token / completion.done / completion.error events. One subscription
 * serves every request; events that arrive before their request learns its id are held briefly and
 * replayed, so nothing is lost to the race between the call's answer and the first event.
 */
import type { CompletionInput, EventPayload, FinishReason, Usage } from "../api/contract.ts";
import { fromErrorInfo } from "../api/validate.ts";
import { cancelled, throwIfAborted } from "../errors.ts";
import type { EngineDoor } from "./door.ts";

type RoutedEvent =
  | { type: "token"; payload: EventPayload<"completion.token"> }
  | { type: "done"; payload: EventPayload<"completion.done"> }
  | { type: "error"; payload: EventPayload<"completion.error"> };

export interface CompletionOutcome {
  requestId: string;
  model: string;
  text: string;
  finishReason: FinishReason;
  usage: Usage;
}

export interface RunOptions {
  /** Aborting cancels the generation in the engine (a client that went away). */
  signal?: AbortSignal;
  onDelta?: (delta: string) => void;
  /** Called with the request id as soon as the engine has accepted the request. */
  onAccepted?: (requestId: string, model: string) => void;
}

export class CompletionRouter {
  private readonly handlers = new Map<string, (event: RoutedEvent) => void>();
  /** Events for ids nobody has claimed yet, oldest first (Map keeps insertion order). */
  private readonly unclaimed = new Map<string, RoutedEvent[]>();
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly door: EngineDoor,
    private readonly maxUnclaimed = 256,
  ) {
    this.unsubscribe = [
      door.on("completion.token", (payload) => this.route({ type: "token", payload })),
      door.on("completion.done", (payload) => this.route({ type: "done", payload })),
      door.on("completion.error", (payload) => this.route({ type: "error", payload })),
    ];
  }

  /** Generations the router is following now. */
  get active(): number {
    return this.handlers.size;
  }

  async run(input: CompletionInput, options: RunOptions = {}): Promise<CompletionOutcome> {
    const { signal } = options;
    throwIfAborted(signal, "The completion");
    const started = (await this.door.call("completions.create", input)) as {
      requestId: string;
      model: string;
    };
    const { requestId, model } = started;
    options.onAccepted?.(requestId, model);
    return new Promise<CompletionOutcome>((resolve, reject) => {
      let settled = false;
      const settle = () => {
        settled = true;
        this.handlers.delete(requestId);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        if (settled) return;
        settle();
        // The client is gone; the engine should stop spending time on it. Failure here changes nothing.
        this.door.call("completions.cancel", { requestId }).catch(() => undefined);
        reject(cancelled("The completion"));
      };
      const handle = (event: RoutedEvent) => {
        if (settled) return;
        if (event.type === "token") {
          if (event.payload.delta) options.onDelta?.(event.payload.delta);
        } else if (event.type === "done") {
          settle();
          const { text, finishReason, usage } = event.payload;
          resolve({ requestId, model, text, finishReason, usage });
        } else {
          settle();
          reject(fromErrorInfo(event.payload.error));
        }
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.handlers.set(requestId, handle);
      const early = this.unclaimed.get(requestId);
      this.unclaimed.delete(requestId);
      for (const event of early ?? []) handle(event);
    });
  }

  close(): void {
    for (const stop of this.unsubscribe) stop();
    this.handlers.clear();
    this.unclaimed.clear();
  }

  private route(event: RoutedEvent): void {
    const id = event.payload.requestId;
    const handler = this.handlers.get(id);
    if (handler) {
      handler(event);
      return;
    }
    let held = this.unclaimed.get(id);
    if (!held) {
      // Completions started by other doors are never claimed here: keep only the most recent few.
      if (this.unclaimed.size >= this.maxUnclaimed) {
        const oldest = this.unclaimed.keys().next().value;
        if (oldest !== undefined) this.unclaimed.delete(oldest);
      }
      held = [];
      this.unclaimed.set(id, held);
    }
    // A long reply from another door must not pile up here either; its ending is always kept.
    if (event.type !== "token" || held.length < 4096) held.push(event);
  }
}
