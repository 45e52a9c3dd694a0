/** The local OpenAI-compatible API as Settings shows it: the switch, port, token, and whether it listens. */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { ApiPatch, ApiStatus, ErrorInfo } from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";

export interface ApiStore {
  api: ApiStatus | null;
  error: ErrorInfo | null;
  refresh(): Promise<void>;
  update(patch: ApiPatch): Promise<void>;
  regenerateToken(): Promise<void>;
  dispose(): void;
}

export function createApiStore(client: ElmwoodClient): StoreApi<ApiStore> {
  return createStore<ApiStore>()((set, get) => {
    // Changes the person made that the engine has not answered yet: they stay on screen over any
    // state that arrives meanwhile (the answer or event of an earlier change would undo them).
    const pending = new Set<ApiPatch>();
    const withPending = (api: ApiStatus): ApiStatus => Object.assign({ ...api }, ...pending);
    // Answers and events travel separately: keep whichever state is newest.
    const accept = (api: ApiStatus) => {
      const current = get().api;
      if (!current || api.revision >= current.revision) set({ api: withPending(api) });
    };
    // The door reports when the server really starts or fails (port in use): follow it.
    const stop = client.on("api.changed", accept);
    const run = async (action: () => Promise<ApiStatus>) => {
      try {
        accept(await action());
        set({ error: null });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    };
    return {
      api: null,
      error: null,
      refresh: () => run(() => client.api.get()),
      update: (patch) => {
        // Shown at once (a checkbox must not spring back while the engine saves), then replaced by
        // what the engine kept, or put back if it refused.
        const before = get().api;
        pending.add(patch);
        if (before) set({ api: withPending(before) });
        return run(async () => {
          try {
            return await client.api.update(patch);
          } finally {
            pending.delete(patch);
          }
        }).then(() => {
          if (get().error && before) set({ api: withPending(before) });
        });
      },
      regenerateToken: () => run(() => client.api.regenerateToken()),
      dispose: stop,
    };
  });
}
