/** A small event emitter typed by the contract's events; a listener's exception never reaches the emitter. */
import type { EventName, EventPayload } from "../api/contract.ts";

export type Listener<E extends EventName> = (payload: EventPayload<E>) => void;
export type AnyListener = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

export class ContractEvents {
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>();
  private readonly everything = new Set<AnyListener>();

  on<E extends EventName>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  /** Every event, for doors that forward them all (IPC, WebSocket). */
  onAny(listener: AnyListener): () => void {
    this.everything.add(listener);
    return () => this.everything.delete(listener);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<E>)(payload);
      } catch {
        // One broken window or socket must not stop the others hearing about it.
      }
    }
    for (const listener of this.everything) {
      try {
        listener(event, payload);
      } catch {
        // As above.
      }
    }
  }

  clear(): void {
    this.listeners.clear();
    this.everything.clear();
  }
}
