/** Settings: theme, defaults for new chats, reading a message ahead, where things are kept (and moving the models), remote engines, keyboard shortcuts, the local API. */

import { type ReactNode, useEffect } from "react";
import type { Settings } from "../../engine/api/contract.ts";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { useSettings, useStores, useUi } from "../stores/stores.tsx";
import { ApiSettings } from "./ApiSettings.tsx";
import { EngineSettings } from "./EngineSettings.tsx";
import { StorageSettings } from "./StorageSettings.tsx";

const THEMES: { value: Settings["theme"]; label: string }[] = [
  { value: "system", label: "Same as the system" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: "Enter", what: "Send the message" },
  { keys: "Shift+Enter", what: "New line in the message" },
  { keys: "Escape", what: "Stop the reply being written" },
  { keys: "Ctrl+N / ⌘N", what: "New chat" },
  { keys: "Ctrl+B / ⌘B", what: "Show or hide the sidebar" },
  { keys: "Ctrl+, / ⌘,", what: "Settings" },
];

/** A setting that is on or off, as a labelled checkbox that saves when it changes. */
function SettingSwitch(props: { name: "readAhead" | "watchFolders"; children: ReactNode }) {
  const { settings: store } = useStores();
  const on = useSettings((s) => s.settings?.[props.name] ?? false);
  return (
    <label className="checkbox">
      <input
        type="checkbox"
        checked={on}
        onChange={(e) => void store.getState().update({ [props.name]: e.target.checked })}
      />
      {props.children}
    </label>
  );
}

export function SettingsView() {
  const stores = useStores();
  const { settings: store } = stores;
  const settings = useSettings((s) => s.settings);
  const error = useSettings((s) => s.error);
  const section = useUi((s) => s.section);

  // Arriving for one card ("Add an engine" elsewhere in the app): bring it into view.
  useEffect(() => {
    if (!section) return;
    document.getElementById(`${section}-title`)?.scrollIntoView?.({ block: "start" });
    stores.ui.getState().sectionShown();
  }, [section, stores]);

  return (
    <section className="page" aria-labelledby="settings-title">
      <header className="pane-header">
        <h1 id="settings-title" className="pane-title">
          Settings
        </h1>
      </header>
      <div className="page-body">
        {error ? <ErrorNotice error={error} /> : null}
        <section className="card" aria-labelledby="look-title">
          <h2 id="look-title">Appearance</h2>
          <fieldset className="radio-group">
            <legend>Theme</legend>
            {THEMES.map((theme) => (
              <label key={theme.value} className="radio">
                <input
                  type="radio"
                  name="theme"
                  value={theme.value}
                  checked={settings?.theme === theme.value}
                  onChange={() => void store.getState().update({ theme: theme.value })}
                />
                {theme.label}
              </label>
            ))}
          </fieldset>
        </section>

        <section className="card" aria-labelledby="chat-defaults-title">
          <h2 id="chat-defaults-title">New conversations</h2>
          <label className="field">
            <span>Default system prompt</span>
            <textarea
              rows={3}
              maxLength={8000}
              defaultValue={settings?.systemPrompt ?? ""}
              key={settings?.systemPrompt ?? ""}
              placeholder="How the assistant should behave (optional)"
              onBlur={(e) => {
                if (e.target.value !== settings?.systemPrompt)
                  void store.getState().update({ systemPrompt: e.target.value });
              }}
            />
          </label>
          <p className="muted small">
            Each conversation can change its own prompt and sampling from its settings drawer.
          </p>
        </section>

        <section className="card" aria-labelledby="chat-settings-title">
          <h2 id="chat-settings-title">Chat</h2>
          <SettingSwitch name="readAhead">
            Read my message while I type, so the reply starts sooner
          </SettingSwitch>
          <p className="muted small">
            The model on this computer reads the draft whenever it is idle; nothing is sent to a remote engine
            before you press Send. Turn this off to keep the processor idle while you type.
          </p>
        </section>

        <StorageSettings />

        <EngineSettings />

        <section className="card" aria-labelledby="documents-settings-title">
          <h2 id="documents-settings-title">Documents</h2>
          <SettingSwitch name="watchFolders">
            Keep indexed folders up to date while Elmwood runs
          </SettingSwitch>
        </section>

        <section className="card" aria-labelledby="shortcuts-title">
          <h2 id="shortcuts-title">Keyboard shortcuts</h2>
          <table className="shortcuts">
            <tbody>
              {SHORTCUTS.map((s) => (
                <tr key={s.keys}>
                  <th scope="row">
                    <kbd>{s.keys}</kbd>
                  </th>
                  <td>{s.what}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>

        <ApiSettings />
      </div>
    </section>
  );
}
