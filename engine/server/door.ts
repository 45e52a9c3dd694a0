/**
 * What the loopback server needs from the engine: the contract's two verbs. The real ElmwoodService
 * has them; tests pass a small fake. Keeping the server to this surface is what keeps it a thin door.
 */
import type { CallName, EventName, EventPayload } from "../api/contract.ts";

export interface EngineDoor {
  /** Runs one contract call; rejects with an ElmwoodError. */
  call(name: CallName, input: unknown): Promise<unknown>;
  /** Returns a function that stops listening. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}
