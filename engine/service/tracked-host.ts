/**
 * A model as the service shares it (the loaded local model, or a remote engine's model): a backend
 * that knows which generations are running or waiting on it, so it is never closed under one.
 * Closing a ModelHost terminates its worker, and a generation in flight would then never end: its
 * reply neither saved nor failed. Retiring the model instead either waits until nothing is using it
 * (another reply needs another model) or stops what is using it, saying why (the person switched,
 * unloaded or removed it, or removed its engine), and closes it once every generation has returned
 * what it wrote.
 */
import type { Interruption } from "../api/contract.ts";
import { notBegun } from "../chat/interruption.ts";
import { isElmwoodError } from "../errors.ts";
import type {
  GenerationBackend,
  GenerationCallbacks,
  GenerationRequest,
  GenerationResult,
  Generator,
} from "./generation.ts";

interface InFlight {
  controller: AbortController;
  /** Why it was stopped, when the model was taken away from it. */
  reason?: Interruption;
  settled: Promise<void>;
}

export class TrackedHost implements Generator {
  private readonly inFlight = new Set<InFlight>();
  /** Set once the model is being retired: no new generation may start on it. */
  private closing: Interruption | null = null;
  private retired: Promise<void> | undefined;

  constructor(private readonly host: GenerationBackend) {}

  get running(): boolean {
    return this.host.running;
  }

  get waiting(): number {
    return this.host.waiting;
  }

  /** Generations running or waiting on this model. */
  get inUse(): number {
    return this.inFlight.size;
  }

  async generate(request: GenerationRequest, callbacks: GenerationCallbacks = {}): Promise<GenerationResult> {
    if (this.closing) throw notBegun(this.closing);
    const controller = new AbortController();
    const outer = callbacks.signal;
    const forward = () => controller.abort();
    if (outer?.aborted) controller.abort();
    else outer?.addEventListener("abort", forward, { once: true });
    const run = this.host.generate(request, { ...callbacks, signal: controller.signal });
    const entry: InFlight = { controller, settled: run.then(noop, noop) };
    this.inFlight.add(entry);
    try {
      const result = await run;
      return entry.reason && result.finishReason === "cancelled"
        ? { ...result, interruption: entry.reason }
        : result;
    } catch (error) {
      // Stopped while it waited its turn: nothing was written.
      if (entry.reason && isElmwoodError(error) && error.code === "CANCELLED") throw notBegun(entry.reason);
      throw error;
    } finally {
      outer?.removeEventListener("abort", forward);
      this.inFlight.delete(entry);
    }
  }

  /**
   * Reads a prompt ahead while the model is idle. Not counted as a use: a prefill never holds a
   * model back from being retired (closing the host stops it).
   */
  async prefill(prompt: GenerationRequest["prompt"]): Promise<number | null> {
    if (this.closing || this.retired || !this.host.prefill) return null;
    return this.host.prefill(prompt);
  }

  /**
   * Closes the model once nothing is using it. With `stop`, what is using it is stopped now (each
   * keeps what it wrote and learns `reason`); without, it is waited for, and only a generation that
   * tries to start after that is refused with `reason`.
   */
  retire(reason: Interruption, options: { stop: boolean }): Promise<void> {
    if (options.stop) this.stopAll(reason);
    this.retired ??= (async () => {
      while (this.inFlight.size > 0) await Promise.all([...this.inFlight].map((e) => e.settled));
      // From here on a late request is refused rather than started on a model about to close.
      this.closing ??= reason;
      this.stopAll(this.closing);
      while (this.inFlight.size > 0) await Promise.all([...this.inFlight].map((e) => e.settled));
      await this.host.close();
    })();
    return this.retired;
  }

  private stopAll(reason: Interruption): void {
    this.closing ??= reason;
    for (const entry of this.inFlight) {
      entry.reason ??= reason;
      entry.controller.abort();
    }
  }
}

function noop(): void {}
