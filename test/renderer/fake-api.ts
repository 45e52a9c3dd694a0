/**
 * An in-memory stand-in for a door: calls answered by handlers the test gives, events emitted by the
 * test when it chooses, so orderings the real engine produces only sometimes can be set up exactly.
 */
import type {
  CallInput,
  CallName,
  CallOutput,
  ElmwoodApi,
  EventName,
  EventPayload,
  Message,
} from "../../engine/api/contract.ts";
import { createClient, type ElmwoodClient } from "../../renderer/api/client.ts";

type Handler<N extends CallName> = (input: CallInput<N>) => CallOutput<N> | Promise<CallOutput<N>>;
export type Handlers = { [N in CallName]?: Handler<N> };

export interface FakeApi {
  client: ElmwoodClient;
  calls: { name: CallName; input: unknown }[];
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  listeners(event: EventName): number;
}

export function fakeApi(handlers: Handlers): FakeApi {
  const calls: { name: CallName; input: unknown }[] = [];
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const api: ElmwoodApi = {
    async call(name, input) {
      calls.push({ name, input });
      const handler = handlers[name] as Handler<typeof name> | undefined;
      if (!handler) throw new Error(`no fake handler for ${name}`);
      return handler(input);
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: unknown) => void);
      return () => set.delete(listener as (payload: unknown) => void);
    },
  };
  return {
    client: createClient(api),
    calls,
    emit(event, payload) {
      for (const listener of listeners.get(event) ?? []) listener(payload);
    },
    listeners: (event) => listeners.get(event)?.size ?? 0,
  };
}

let counter = 0;

export function message(fields: Partial<Message> & Pick<Message, "role" | "content">): Message {
  const id = fields.id ?? `m${++counter}`;
  return {
    id,
    conversationId: "c1",
    parentId: null,
    createdAt: 0,
    model: null,
    stats: null,
    interruption: null,
    siblingIds: [id],
    siblingIndex: 0,
    ...fields,
  };
}

export function stats(promptTokens: number, completionTokens: number): NonNullable<Message["stats"]> {
  return {
    promptTokens,
    reusedTokens: 0,
    completionTokens,
    tokensPerSecond: 10,
    firstTokenMs: 5,
    totalMs: 100,
    finishReason: "eos",
  };
}

/** Resolves after pending promise callbacks have run. */
export const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
