/**
 * The one typed client the views use: `client.chat.send({...})`, `client.on("chat.token", fn)`. It is
 * generated from the contract's list of names, so no view spells a channel, and a call added to the
 * contract appears here (and a removed one fails to compile where it was used).
 */
import type {
  CallInput,
  CallName,
  CallOutput,
  ElmwoodApi,
  EventName,
  EventPayload,
} from "../../engine/api/contract.ts";
import { CALL_NAMES } from "../../engine/api/names.ts";

type NamespaceOf<N> = N extends `${infer Space}.${string}` ? Space : never;
type MethodOf<N, Space extends string> = N extends `${Space}.${infer Method}` ? Method : never;

/** Calls whose every field is optional may be made with no argument. */
type CallFunction<N extends CallName> =
  Record<string, never> extends CallInput<N>
    ? (input?: CallInput<N>) => Promise<CallOutput<N>>
    : (input: CallInput<N>) => Promise<CallOutput<N>>;

export type ElmwoodClient = {
  readonly [Space in NamespaceOf<CallName>]: {
    readonly [Method in MethodOf<CallName, Space>]: CallFunction<`${Space}.${Method}` & CallName>;
  };
} & {
  /** Listens to one contract event; returns the function that stops listening. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

export function createClient(api: ElmwoodApi): ElmwoodClient {
  const spaces: Record<string, Record<string, (input?: unknown) => Promise<unknown>>> = {};
  for (const name of CALL_NAMES) {
    const [space, method] = name.split(".") as [string, string];
    spaces[space] ??= {};
    spaces[space][method] = (input?: unknown) => api.call(name, (input ?? {}) as CallInput<typeof name>);
  }
  for (const space of Object.values(spaces)) Object.freeze(space);
  return Object.freeze({
    ...spaces,
    on: <E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) =>
      api.on(event, listener),
  }) as unknown as ElmwoodClient;
}
