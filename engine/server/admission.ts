/**
 * The API's door to each model: at most `maxPending` generations per model at once (one running, the
 * rest waiting in the engine's in-order queue). Past that a request is refused at once as BUSY, with a
 * Retry-After drawn from how long recent generations took, instead of queueing without bound.
 */
import { ElmwoodError } from "../errors.ts";

export interface Ticket {
  leave(): void;
}

export class AdmissionGate {
  private readonly pending = new Map<string, number>();
  /** A moving average of how long an admitted request stayed, in ms. */
  private averageMs = 2_000;

  constructor(private readonly maxPending: number) {}

  /** Seconds a refused client should wait before trying again. */
  retryAfterSeconds(): number {
    return Math.min(60, Math.max(1, Math.ceil(this.averageMs / 1000)));
  }

  pendingFor(model: string): number {
    return this.pending.get(model) ?? 0;
  }

  /** Admits a request for `model` ("" for the default model) or throws BUSY. */
  enter(model: string): Ticket {
    const count = this.pendingFor(model);
    if (count >= this.maxPending) {
      throw new ElmwoodError(
        "BUSY",
        `The model is busy: ${count} requests are running or waiting for it.`,
        `Try again in ${this.retryAfterSeconds()} s.`,
      );
    }
    this.pending.set(model, count + 1);
    const since = performance.now();
    let left = false;
    return {
      leave: () => {
        if (left) return;
        left = true;
        const now = (this.pending.get(model) ?? 1) - 1;
        if (now === 0) this.pending.delete(model);
        else this.pending.set(model, now);
        this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - since);
      },
    };
  }
}
