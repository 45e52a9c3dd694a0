/** The local API card in Settings: on/off, port, the token to give clients, and what is listening. */
import { useEffect, useState } from "react";
import { useStore } from "zustand";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { useStores } from "../stores/stores.tsx";

export function ApiSettings() {
  const { api: store } = useStores();
  const api = useStore(store, (s) => s.api);
  const error = useStore(store, (s) => s.error);
  const [port, setPort] = useState("");
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    void store.getState().refresh();
  }, [store]);
  // Follow the stored port only when it changes, so an unrelated update never overwrites typing.
  const storedPort = api?.port;
  useEffect(() => {
    if (storedPort !== undefined) setPort(String(storedPort));
  }, [storedPort]);

  const savePort = () => {
    const value = Number(port);
    if (api && Number.isInteger(value) && value !== api.port) void store.getState().update({ port: value });
  };

  return (
    <section className="card" aria-labelledby="api-title">
      <h2 id="api-title">Local API</h2>
      <p className="muted">
        An OpenAI-compatible API for other programs on this computer (127.0.0.1 only), protected by a token.
        Point a client's base URL at the address below and use the token as its API key.
      </p>
      {error ? <ErrorNotice error={error} /> : null}
      <label className="checkbox">
        <input
          type="checkbox"
          checked={api?.enabled ?? false}
          disabled={!api}
          onChange={(e) => void store.getState().update({ enabled: e.target.checked })}
        />
        Turn on the local API
      </label>
      <label className="field">
        <span>Port</span>
        <input
          type="number"
          inputMode="numeric"
          min={1024}
          max={65535}
          value={port}
          disabled={!api}
          onChange={(e) => setPort(e.target.value)}
          onBlur={savePort}
          onKeyDown={(e) => e.key === "Enter" && savePort()}
        />
      </label>
      <div className="field">
        <label htmlFor="api-token">Token</label>
        <div className="row">
          <input id="api-token" className="token" type="text" readOnly value={api?.token ?? ""} />
          <button
            type="button"
            className="button"
            onClick={() => {
              if (!api) return;
              void navigator.clipboard?.writeText(api.token).then(() => setCopied(true));
            }}
          >
            {copied ? "Copied" : "Copy token"}
          </button>
          <button
            type="button"
            className="button"
            disabled={!api || api.tokenFromEnvironment}
            onClick={() => {
              setCopied(false);
              void store.getState().regenerateToken();
            }}
          >
            Regenerate token
          </button>
        </div>
        {api?.tokenFromEnvironment ? (
          <p className="muted small">The token comes from ELMWOOD_API_TOKEN while it is set.</p>
        ) : null}
      </div>
      <p className="small" role="status">
        {!api
          ? "…"
          : api.running && api.baseUrl
            ? `Listening at ${api.baseUrl}`
            : api.enabled && api.error
              ? `Not running: ${api.error}`
              : api.enabled
                ? "Starting…"
                : "Off"}
      </p>
    </section>
  );
}
