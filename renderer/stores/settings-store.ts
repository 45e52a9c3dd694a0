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
  return createStore<SettingsStore>()((set) => ({
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
      try {
        set({ settings: await client.settings.update(patch), error: null });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },
  }));
}
