/**
 * The remote engines as Settings → Engines shows them: added, checked, refreshed, their keys set or
 * removed. Keys go in and never come back: the engine says only whether one is set.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { EngineAdd, EngineInfo, EngineUpdate, ErrorInfo } from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";

export interface EnginesStore {
  loaded: boolean;
  engines: EngineInfo[];
  /** The engines file could not be read (the engine set it aside). */
  problem: string | null;
  error: ErrorInfo | null;
  /** What is being waited for: "add", or the name of an engine being refreshed or changed. */
  busy: string | null;
  refresh(): Promise<void>;
  /** True once the engine answered and was kept. */
  add(input: EngineAdd): Promise<boolean>;
  update(input: EngineUpdate): Promise<boolean>;
  refreshModels(name: string): Promise<void>;
  remove(name: string): Promise<void>;
  dismissError(): void;
}

export function createEnginesStore(client: ElmwoodClient): StoreApi<EnginesStore> & { dispose(): void } {
  const store = createStore<EnginesStore>()((set, get) => {
    const replace = (engine: EngineInfo) =>
      set((s) => ({ engines: s.engines.map((e) => (e.name === engine.name ? engine : e)) }));
    const attempt = async (busy: string, work: () => Promise<unknown>): Promise<boolean> => {
      set({ busy, error: null });
      try {
        await work();
        return true;
      } catch (error) {
        set({ error: asErrorInfo(error) });
        return false;
      } finally {
        set({ busy: null });
      }
    };
    return {
      loaded: false,
      engines: [],
      problem: null,
      error: null,
      busy: null,

      async refresh() {
        try {
          const { engines, problem } = await client.engines.list();
          set({ loaded: true, engines, problem });
        } catch (error) {
          set({ error: asErrorInfo(error) });
        }
      },

      add: (input) =>
        attempt("add", async () => {
          const added = await client.engines.add(input);
          set((s) => ({ engines: [...s.engines.filter((e) => e.name !== added.name), added] }));
        }),

      update: (input) => attempt(input.name, async () => replace(await client.engines.update(input))),

      async refreshModels(name) {
        await attempt(name, async () => replace(await client.engines.refresh({ name })));
        // A failed refresh is kept with the engine: show it there too.
        if (get().error) await get().refresh();
      },

      async remove(name) {
        await attempt(name, async () => {
          await client.engines.remove({ name });
          set((s) => ({ engines: s.engines.filter((e) => e.name !== name) }));
        });
      },

      dismissError() {
        set({ error: null });
      },
    };
  });
  const stop = client.on("engines.changed", ({ engines }) => store.setState({ engines, loaded: true }));
  return Object.assign(store, { dispose: stop });
}
