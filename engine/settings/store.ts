/**
 * The profile's settings in its database: one row per setting (JSON), read over the defaults, so a
 * setting added in a later version simply starts at its default. Every update is validated as a
 * whole against the contract before it is written.
 */
import { Settings, type SettingsPatch, type Settings as SettingsT } from "../api/contract.ts";
import { ElmwoodError } from "../errors.ts";
import { CHAT_DEFAULTS } from "../runtime/sampler.ts";
import { type Db, registerMigrations } from "../store/database.ts";

export const SETTINGS_FEATURE = "settings";

registerMigrations(SETTINGS_FEATURE, [
  "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL)",
]);

/** OpenELM's recommended sampling (repetition penalty 1.2) and a reply of up to 512 tokens. */
export const DEFAULT_SETTINGS: SettingsT = {
  provider: "auto",
  threads: null,
  sampling: {
    temperature: CHAT_DEFAULTS.temperature,
    topP: CHAT_DEFAULTS.topP,
    topK: CHAT_DEFAULTS.topK,
    minP: CHAT_DEFAULTS.minP,
    repetitionPenalty: CHAT_DEFAULTS.repetitionPenalty,
    maxTokens: 512,
  },
  systemPrompt: "",
  summaryStyle: "short",
  theme: "system",
  watchFolders: true,
  meaningSearch: true,
  readAhead: true,
};

export class SettingsStore {
  constructor(private readonly db: Db) {}

  get(): SettingsT {
    const rows = this.db.prepare("SELECT key, value FROM settings").all() as { key: string; value: string }[];
    const stored: Record<string, unknown> = {};
    for (const { key, value } of rows) {
      if (Object.hasOwn(DEFAULT_SETTINGS, key)) stored[key] = JSON.parse(value);
    }
    const merged = { ...DEFAULT_SETTINGS, ...stored };
    merged.sampling = { ...DEFAULT_SETTINGS.sampling, ...(stored.sampling as object | undefined) };
    // A value another version wrote that this one cannot use falls back to the default.
    const parsed = Settings.safeParse(merged);
    if (parsed.success) return parsed.data;
    const fixed: Record<string, unknown> = { ...merged };
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]) as keyof SettingsT;
      fixed[key] = DEFAULT_SETTINGS[key];
    }
    return Settings.parse(fixed);
  }

  update(patch: SettingsPatch): SettingsT {
    const current = this.get();
    const next = {
      ...current,
      ...patch,
      sampling: { ...current.sampling, ...patch.sampling },
    };
    const checked = Settings.safeParse(next);
    if (!checked.success) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `Invalid setting '${checked.error.issues[0].path.join(".")}': ${checked.error.issues[0].message}.`,
        "Fix the value and try again.",
      );
    }
    const write = this.db.prepare(
      "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    );
    const now = Date.now();
    this.db.transaction(() => {
      for (const key of Object.keys(patch) as (keyof SettingsT)[]) {
        write.run(key, JSON.stringify(checked.data[key]), now);
      }
    })();
    return checked.data;
  }
}
