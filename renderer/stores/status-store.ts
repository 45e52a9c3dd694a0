/** The engine's status (model, provider, generation, indexing) as the status bar shows it. */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { ErrorInfo, Status } from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";

export interface StatusStore {
  status: Status | null;
  /** Why the status could not be read (the engine is unreachable). */
  error: ErrorInfo | null;
  refresh(): Promise<void>;
}

export function createStatusStore(client: ElmwoodClient): StoreApi<StatusStore> & { dispose(): void } {
  const store = createStore<StatusStore>()((set) => ({
    status: null,
    error: null,
    async refresh() {
      try {
        set({ status: await client.status.get(), error: null });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },
  }));
  const stop = client.on("status.changed", (status) => store.setState({ status, error: null }));
  return Object.assign(store, { dispose: stop });
}
