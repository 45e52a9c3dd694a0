/**
 * The model manager: installed models, remote engines' models beside them (each marked with its
 * engine and host), the device, the catalog with downloads, and folder import.
 */
import { useState } from "react";
import type {
  CatalogItem,
  EmbeddingCatalogItem,
  ModelInfo,
  RemoteModelInfo,
} from "../../engine/api/contract.ts";
import { ConfirmDialog } from "../components/Dialogs.tsx";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { formatBytes, formatCount, formatParameters } from "../lib/format.ts";
import { useModels, useStores } from "../stores/stores.tsx";
import { DeviceSettings } from "./DeviceSettings.tsx";
import { FolderImport } from "./FolderImport.tsx";
import { PullControls } from "./PullControls.tsx";

function InstalledModel({ model, onRemove }: { model: ModelInfo; onRemove(): void }) {
  const { models } = useStores();
  return (
    <li className="installed-model">
      <div>
        <strong>{model.name}</strong> {model.isDefault ? <span className="badge accent">Default</span> : null}
        <p className="muted small">
          {formatParameters(model.parameters)} parameters · {model.precision} · {formatBytes(model.bytes)} ·{" "}
          {model.contextLength}-token window
          {/* A downloaded checkpoint deleted to free space is expected; a moved import folder is not. */}
          {model.source.present || model.source.managed ? "" : " · source folder missing"}
        </p>
        {model.source.managed && model.source.present ? (
          <p className="muted small">
            The downloaded checkpoint it was converted from is still on disk; the model no longer needs it.
          </p>
        ) : null}
      </div>
      <div className="row">
        {model.isDefault ? null : (
          <button
            type="button"
            className="button"
            onClick={() => void models.getState().setDefault(model.name)}
          >
            Make default
          </button>
        )}
        {model.source.managed && model.source.present ? (
          <button
            type="button"
            className="button"
            aria-label={`Free space: delete the downloaded checkpoint of ${model.name}`}
            onClick={() => void models.getState().removeSource(model.name)}
          >
            Free space
          </button>
        ) : null}
        <button type="button" className="button subtle" onClick={onRemove}>
          Remove…
        </button>
      </div>
    </li>
  );
}

function RemoteModel({ model }: { model: RemoteModelInfo }) {
  const { models } = useStores();
  return (
    <li className="remote-model" aria-label={model.name}>
      <div>
        <strong>{model.name}</strong> <span className="badge">{model.engine}</span>{" "}
        {model.isDefault ? <span className="badge accent">Default</span> : null}
        <p className="muted small">
          Runs on {model.host}: what it is asked is sent there · {formatCount(model.contextLength)}-token
          window
          {model.contextSource === "assumed" ? " (assumed)" : ""}
        </p>
      </div>
      {model.isDefault ? null : (
        <button
          type="button"
          className="button"
          aria-label={`Make ${model.name} the default model`}
          onClick={() => void models.getState().setDefault(model.name)}
        >
          Make default
        </button>
      )}
    </li>
  );
}

function RemoteModels() {
  const { ui } = useStores();
  const remote = useModels((s) => s.remote);
  return (
    <section className="card" aria-labelledby="remote-title">
      <h2 id="remote-title">On remote engines</h2>
      {remote.length === 0 ? (
        <p className="muted">
          Models served by another machine or program (vLLM, a llama.cpp server, Ollama, LM Studio, another
          Elmwood) can be used here too.
        </p>
      ) : (
        <ul className="remote-list">
          {remote.map((model) => (
            <RemoteModel key={model.name} model={model} />
          ))}
        </ul>
      )}
      <button type="button" className="button subtle" onClick={() => ui.getState().go("settings", "engines")}>
        {remote.length === 0 ? "Add an engine in Settings" : "Manage engines in Settings"}
      </button>
    </section>
  );
}

export function CatalogCard({ item, recommended }: { item: CatalogItem; recommended: boolean }) {
  const name = item.repoId.split("/").pop() ?? item.repoId;
  return (
    <li className={`card catalog-card${recommended ? " recommended" : ""}`} aria-label={name}>
      <header>
        <h3>{name}</h3>
        <div className="badges">
          {recommended ? <span className="badge accent">Recommended</span> : null}
          {item.instruct ? <span className="badge">Chat</span> : <span className="badge">Base</span>}
          {item.installed.length > 0 ? <span className="badge ok">Installed</span> : null}
        </div>
      </header>
      <dl className="facts">
        <div>
          <dt>Parameters</dt>
          <dd>{formatParameters(item.parameters)}</dd>
        </div>
        <div>
          <dt>Download</dt>
          <dd>{formatBytes(item.estimate.downloadBytes)}</dd>
        </div>
        <div>
          <dt>On disk ({item.estimate.precision})</dt>
          <dd>{formatBytes(item.estimate.diskBytes)}</dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd>{formatBytes(item.estimate.memoryBytes)}</dd>
        </div>
      </dl>
      <PullControls item={{ ...item, downloadBytes: item.estimate.downloadBytes }} />
    </li>
  );
}

/** The embedding model search by meaning runs on: what it is, its licence, and its download. */
function EmbeddingCard({ item, onRemove }: { item: EmbeddingCatalogItem; onRemove(): void }) {
  return (
    <li className="card catalog-card" aria-label={item.name}>
      <header>
        <h3>{item.name}</h3>
        <div className="badges">
          <span className="badge">Search by meaning</span>
          {item.installed ? <span className="badge ok">Installed</span> : null}
        </div>
      </header>
      <p className="muted small">{item.description}</p>
      <dl className="facts">
        <div>
          <dt>Parameters</dt>
          <dd>{formatParameters(item.parameters)}</dd>
        </div>
        <div>
          <dt>Download</dt>
          <dd>{formatBytes(item.downloadBytes)}</dd>
        </div>
        <div>
          <dt>Vectors</dt>
          <dd>{item.dims} numbers</dd>
        </div>
        <div>
          <dt>Licence</dt>
          <dd>{item.licence}</dd>
        </div>
      </dl>
      {item.installed ? (
        <div className="row">
          <p className="installed-note">Installed: search finds passages by meaning as well as by words.</p>
          <button type="button" className="button subtle" onClick={onRemove}>
            Remove…
          </button>
        </div>
      ) : (
        <PullControls item={{ repoId: item.repoId, installed: [], downloadBytes: item.downloadBytes }} />
      )}
    </li>
  );
}

export function ModelsView() {
  const { models: store } = useStores();
  const models = useModels((s) => s.models);
  const broken = useModels((s) => s.broken);
  const catalog = useModels((s) => s.catalog);
  const recommended = useModels((s) => s.recommended);
  const error = useModels((s) => s.error);
  const embeddingCatalog = useModels((s) => s.embeddingCatalog);
  const [removing, setRemoving] = useState<{ name: string; embedding: boolean } | null>(null);

  return (
    <section className="page" aria-labelledby="models-title">
      <header className="pane-header">
        <h1 id="models-title" className="pane-title">
          Models
        </h1>
      </header>
      <div className="page-body">
        {error ? <ErrorNotice error={error} onDismiss={() => store.getState().dismissError()} /> : null}
        <section className="card" aria-labelledby="installed-title">
          <h2 id="installed-title">Installed</h2>
          {models.length === 0 ? (
            <p className="muted">No model yet. Download one below, or import a folder.</p>
          ) : (
            <ul className="installed-list">
              {models.map((model) => (
                <InstalledModel
                  key={model.name}
                  model={model}
                  onRemove={() => setRemoving({ name: model.name, embedding: false })}
                />
              ))}
            </ul>
          )}
          {broken.map((b) => (
            <p key={b.name} className="warning">
              {b.name}: {b.problem}
            </p>
          ))}
        </section>
        <RemoteModels />
        <DeviceSettings />
        <section aria-labelledby="catalog-title">
          <h2 id="catalog-title">Catalog</h2>
          <ul className="catalog">
            {catalog.map((item) => (
              <CatalogCard key={item.repoId} item={item} recommended={item.slug === recommended} />
            ))}
          </ul>
        </section>
        <section aria-labelledby="meaning-title">
          <h2 id="meaning-title">Search by meaning</h2>
          <p className="muted">
            A small embedding model lets search find a passage that says “billing statement” when you look for
            “invoice”. It runs on this computer, like everything else.
          </p>
          <ul className="catalog">
            {embeddingCatalog.map((item) => (
              <EmbeddingCard
                key={item.repoId}
                item={item}
                onRemove={() => setRemoving({ name: item.slug, embedding: true })}
              />
            ))}
          </ul>
        </section>
        <FolderImport />
      </div>
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => !open && setRemoving(null)}
        title={`Remove ${removing?.name ?? "this model"}?`}
        description={
          removing?.embedding
            ? "Search goes back to words only; the passages' vectors stay until another embedding model replaces them."
            : "Its converted files are deleted from this computer. Conversations that used it are kept."
        }
        confirm="Remove"
        onConfirm={() => {
          if (removing) void store.getState().remove(removing.name);
          setRemoving(null);
        }}
      />
    </section>
  );
}
