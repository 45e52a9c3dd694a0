/** The app's settings: theme, device, defaults for new conversations. */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { ErrorInfo, Settings, SettingsPatch } from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";

export interface SettingsStore {
  settings: Settings | null;
  error: ErrorInfo | null;
  refresh(): Promise<void>;
  update(patch: SettingsPatch): Promise<void>;
}

export function createSettingsStore(client: ElmwoodClient): StoreApi<SettingsStore> {
  return createStore<SettingsStore>()((set, get) => ({
    settings: null,
    error: null,
    async refresh() {
      try {
        set({ settings: await client.settings.get(), error: null });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },
    async update(patch) {
      // Shown at once (a radio button must not spring back while the engine saves), then replaced
      // by what the engine kept, or put back if it refused.
      const before = get().settings;
      if (before) {
        set({ settings: { ...before, ...patch, sampling: { ...before.sampling, ...patch.sampling } } });
      }
      try {
        set({ settings: await client.settings.update(patch), error: null });
      } catch (error) {
        set({ settings: before, error: asErrorInfo(error) });
      }
    },
  }));
}
