/**
 * Settings → Engines: OpenAI-compatible engines on other machines (or other programs here) whose
 * models Elmwood can use beside its own. Adding one checks it; plain http to another machine is
 * added only after the person read what that means. A key typed here is sent to the engine once
 * and never shown again; the list says only whether one is set.
 */
import { type FormEvent, useEffect, useState } from "react";
import type { EngineInfo, RemoteModelInfo } from "../../engine/api/contract.ts";
import { ConfirmDialog } from "../components/Dialogs.tsx";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { Modal } from "../components/Modal.tsx";
import { formatCount } from "../lib/format.ts";
import { unencryptedHost } from "../lib/remote.ts";
import { useEngines, useStores } from "../stores/stores.tsx";

function windowText(model: RemoteModelInfo): string {
  const tokens = `${formatCount(model.contextLength)}-token window`;
  switch (model.contextSource) {
    case "engine":
      return tokens;
    case "settings":
      return `${tokens} (as set here)`;
    case "assumed":
      return `${tokens} (assumed: the engine does not say; set it below)`;
  }
}

function KeyDialog({ engine, onClose }: { engine: EngineInfo | null; onClose(): void }) {
  const { engines } = useStores();
  const [key, setKey] = useState("");
  // Whatever was typed goes with the dialog: a key is never kept on screen.
  const close = () => {
    setKey("");
    onClose();
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!engine || !key.trim()) return;
    if (await engines.getState().update({ name: engine.name, apiKey: key.trim() })) close();
  };
  return (
    <Modal
      open={engine !== null}
      onOpenChange={(open) => !open && close()}
      title={`API key for ${engine?.name ?? "the engine"}`}
      description="Sent only to this engine, as its bearer token. Once saved it is not shown again."
    >
      <form onSubmit={save}>
        <label className="field">
          <span>API key</span>
          <input
            type="password"
            autoComplete="off"
            value={key}
            // biome-ignore lint/a11y/noAutofocus: the dialog exists to type this key
            autoFocus
            onChange={(e) => setKey(e.target.value)}
          />
        </label>
        <div className="dialog-actions">
          {engine?.hasKey ? (
            <button
              type="button"
              className="button subtle"
              onClick={async () => {
                if (engine && (await engines.getState().update({ name: engine.name, apiKey: null }))) close();
              }}
            >
              Remove the key
            </button>
          ) : null}
          <button type="button" className="button subtle" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={!key.trim()}>
            Save key
          </button>
        </div>
      </form>
    </Modal>
  );
}

function EngineItem({ engine, onKey, onRemove }: { engine: EngineInfo; onKey(): void; onRemove(): void }) {
  const { engines } = useStores();
  const busy = useEngines((s) => s.busy === engine.name);
  const [contextLength, setContextLength] = useState(engine.contextLength?.toString() ?? "");
  useEffect(() => setContextLength(engine.contextLength?.toString() ?? ""), [engine.contextLength]);
  const saveWindow = () => {
    const value = contextLength.trim() ? Math.round(Number(contextLength)) : null;
    if (value !== null && (!Number.isFinite(value) || value < 256)) return;
    if (value !== engine.contextLength)
      void engines.getState().update({ name: engine.name, contextLength: value });
  };
  const key = engine.hasKey
    ? engine.keyStorage === "encrypted"
      ? "API key set (sealed by the system's keychain)"
      : "API key set (in a file only you can read)"
    : "No API key";
  return (
    <li className="engine" aria-label={`Engine ${engine.name}`}>
      <div className="engine-head">
        <div>
          <strong>{engine.name}</strong> <span className="muted">{engine.host}</span>{" "}
          {engine.unencrypted ? <span className="badge warn">Unencrypted</span> : null}
          <p className="muted small">
            {engine.baseUrl} · {key}
            {engine.checkedAt ? ` · models listed ${new Date(engine.checkedAt).toLocaleString()}` : ""}
          </p>
        </div>
        <div className="row">
          <button
            type="button"
            className="button"
            disabled={busy}
            aria-label={`Refresh models of ${engine.name}`}
            onClick={() => void engines.getState().refreshModels(engine.name)}
          >
            {busy ? "Checking…" : "Refresh models"}
          </button>
          <button
            type="button"
            className="button"
            aria-label={`${engine.hasKey ? "Change key" : "Set key"} for ${engine.name}`}
            onClick={onKey}
          >
            {engine.hasKey ? "Change key…" : "Set key…"}
          </button>
          <button
            type="button"
            className="button subtle"
            aria-label={`Remove ${engine.name}`}
            onClick={onRemove}
          >
            Remove…
          </button>
        </div>
      </div>
      {engine.error ? (
        <p className="warning small">
          The last refresh failed: {engine.error.message} {engine.error.hint ?? ""}
        </p>
      ) : null}
      {engine.models.length === 0 ? (
        <p className="muted small">This engine lists no models.</p>
      ) : (
        <ul className="engine-models" aria-label={`Models of ${engine.name}`}>
          {engine.models.map((model) => (
            <li key={model.name}>
              <code>{model.name}</code> <span className="muted small">{windowText(model)}</span>
            </li>
          ))}
        </ul>
      )}
      <label className="field narrow">
        <span>Context window when the engine does not report one (tokens)</span>
        <input
          type="number"
          inputMode="numeric"
          min={256}
          placeholder="Not set (4,096 assumed)"
          value={contextLength}
          onChange={(e) => setContextLength(e.target.value)}
          onBlur={saveWindow}
          onKeyDown={(e) => e.key === "Enter" && saveWindow()}
        />
      </label>
    </li>
  );
}

export function EngineSettings() {
  const { engines: store } = useStores();
  const engines = useEngines((s) => s.engines);
  const problem = useEngines((s) => s.problem);
  const error = useEngines((s) => s.error);
  const adding = useEngines((s) => s.busy === "add");
  const [baseUrl, setBaseUrl] = useState("");
  const [name, setName] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [confirming, setConfirming] = useState<string | null>(null);
  const [keyFor, setKeyFor] = useState<EngineInfo | null>(null);
  const [removing, setRemoving] = useState<EngineInfo | null>(null);

  useEffect(() => {
    void store.getState().refresh();
  }, [store]);

  const add = async (allowUnencrypted: boolean) => {
    const added = await store.getState().add({
      baseUrl: baseUrl.trim(),
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(apiKey.trim() ? { apiKey: apiKey.trim() } : {}),
      ...(allowUnencrypted ? { allowUnencrypted: true } : {}),
    });
    if (added) {
      setBaseUrl("");
      setName("");
      setApiKey("");
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!baseUrl.trim()) return;
    const host = unencryptedHost(baseUrl);
    if (host) setConfirming(host);
    else void add(false);
  };

  return (
    <section className="card" aria-labelledby="engines-title">
      <h2 id="engines-title">Engines</h2>
      <p className="muted">
        Use models served elsewhere (vLLM, a llama.cpp server, Ollama, LM Studio or another Elmwood) beside
        the ones on this computer. Nothing is sent anywhere until you add an engine; while one of its models
        writes, Elmwood says where the text goes.
      </p>
      {problem ? <p className="warning">{problem}</p> : null}
      {error ? <ErrorNotice error={error} onDismiss={() => store.getState().dismissError()} /> : null}
      <form className="engine-form" onSubmit={submit}>
        <label className="field">
          <span>Engine address (base URL)</span>
          <input
            type="text"
            inputMode="url"
            spellCheck={false}
            placeholder="http://127.0.0.1:8000/v1"
            value={baseUrl}
            onChange={(e) => setBaseUrl(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Name (optional)</span>
          <input
            type="text"
            spellCheck={false}
            maxLength={32}
            placeholder="From the address"
            value={name}
            onChange={(e) => setName(e.target.value.toLowerCase())}
          />
        </label>
        <label className="field">
          <span>API key (optional)</span>
          <input
            type="password"
            autoComplete="off"
            value={apiKey}
            onChange={(e) => setApiKey(e.target.value)}
          />
        </label>
        <button type="submit" className="button primary" disabled={adding || !baseUrl.trim()}>
          {adding ? "Checking the engine…" : "Add engine"}
        </button>
      </form>
      {engines.length > 0 ? (
        <ul className="engine-list">
          {engines.map((engine) => (
            <EngineItem
              key={engine.name}
              engine={engine}
              onKey={() => setKeyFor(engine)}
              onRemove={() => setRemoving(engine)}
            />
          ))}
        </ul>
      ) : null}
      <ConfirmDialog
        open={confirming !== null}
        onOpenChange={(open) => !open && setConfirming(null)}
        title={`Send text unencrypted to ${confirming ?? "this engine"}?`}
        description="This address is plain http to another machine: your messages, documents and the replies, and the API key, would cross the network without encryption, readable by anyone on the way. Use https if the engine has it."
        confirm="Add it unencrypted"
        onConfirm={() => {
          setConfirming(null);
          void add(true);
        }}
      />
      <KeyDialog engine={keyFor} onClose={() => setKeyFor(null)} />
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => !open && setRemoving(null)}
        title={`Remove the engine ${removing?.name ?? ""}?`}
        description="Its models leave the lists and its API key is deleted. Conversations that used them are kept; a reply being written is stopped, keeping what it wrote."
        confirm="Remove"
        onConfirm={() => {
          if (removing) void store.getState().remove(removing.name);
          setRemoving(null);
        }}
      />
    </section>
  );
}
