/** First run, no model: one recommended model, one button to get it, and the way to import instead. */
import { formatBytes, formatParameters } from "../lib/format.ts";
import { PullControls } from "../models/PullControls.tsx";
import { useModels, useStores } from "../stores/stores.tsx";

export function WelcomeView() {
  const { ui } = useStores();
  const catalog = useModels((s) => s.catalog);
  const recommended = useModels((s) => s.recommended);
  const item = catalog.find((c) => c.slug === recommended) ?? catalog.find((c) => c.instruct) ?? null;
  const name = item ? (item.repoId.split("/").pop() ?? item.repoId) : "OpenELM-270M-Instruct";

  return (
    <section className="welcome" aria-labelledby="welcome-title">
      <h1 id="welcome-title">Welcome to Elmwood</h1>
      <p className="lead">
        Chat with Apple's OpenELM models on this computer. Nothing you type leaves it; only the model itself
        is downloaded, once.
      </p>
      {item ? (
        <div className="card welcome-card">
          <h2>{name}</h2>
          <p className="muted">
            Recommended for this computer: {formatParameters(item.parameters)} parameters, a{" "}
            {formatBytes(item.estimate.downloadBytes)} download, about{" "}
            {formatBytes(item.estimate.memoryBytes)} of memory while it runs.{" "}
            {item.parameters < 500e6
              ? "Small and quick: it answers in a moment even on a laptop's processor."
              : "This computer has the memory for it; a smaller one answers faster."}
          </p>
          <PullControls item={{ ...item, downloadBytes: item.estimate.downloadBytes }} primary />
        </div>
      ) : (
        <p className="muted">Reading the catalog…</p>
      )}
      <p>
        Already have a checkpoint?{" "}
        <button type="button" className="link" onClick={() => ui.getState().go("models")}>
          Import a folder instead
        </button>
      </p>
      <p>
        Already run vLLM, Ollama, LM Studio or a llama.cpp server?{" "}
        <button type="button" className="link" onClick={() => ui.getState().go("settings", "engines")}>
          Use its models (Settings → Engines)
        </button>
      </p>
    </section>
  );
}
