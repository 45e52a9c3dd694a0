/** Where the model runs: Auto, the CPU or a GPU provider, and how many threads; what is running and why. */
import { type FormEvent, useEffect, useState } from "react";
import type { ProviderChoice } from "../../engine/api/contract.ts";
import { useModels, useSettings, useStatus, useStores } from "../stores/stores.tsx";

const PROVIDERS: { value: ProviderChoice; label: string }[] = [
  { value: "auto", label: "Auto (best available)" },
  { value: "cpu", label: "CPU" },
  { value: "webgpu", label: "GPU: WebGPU" },
  { value: "cuda", label: "GPU: CUDA (NVIDIA)" },
  { value: "dml", label: "GPU: DirectML (Windows)" },
  { value: "coreml", label: "Core ML (macOS)" },
];

export function DeviceSettings() {
  const { models, status: statusStore } = useStores();
  const model = useStatus((s) => s.status?.model ?? null);
  const settings = useSettings((s) => s.settings);
  const installed = useModels((s) => s.models.length);
  const [provider, setProvider] = useState<ProviderChoice>("auto");
  const [threads, setThreads] = useState("");
  const [applying, setApplying] = useState(false);

  const savedProvider = model?.providerChoice ?? settings?.provider ?? "auto";
  const savedThreads = model?.threads ?? settings?.threads ?? null;
  useEffect(() => {
    setProvider(savedProvider);
    setThreads(savedThreads === null ? "" : String(savedThreads));
  }, [savedProvider, savedThreads]);

  const apply = async (event: FormEvent) => {
    event.preventDefault();
    const count = threads.trim() ? Math.min(256, Math.max(1, Math.round(Number(threads)))) : null;
    setApplying(true);
    await models.getState().useDevice(provider, Number.isFinite(count) ? count : null);
    await statusStore.getState().refresh();
    setApplying(false);
  };

  return (
    <section className="card" aria-labelledby="device-title">
      <h2 id="device-title">Device</h2>
      <form className="device-form" onSubmit={apply}>
        <label className="field">
          <span>Run models on</span>
          <select value={provider} onChange={(e) => setProvider(e.target.value as ProviderChoice)}>
            {PROVIDERS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>CPU threads</span>
          <input
            type="number"
            min={1}
            max={256}
            placeholder="Default"
            value={threads}
            onChange={(e) => setThreads(e.target.value)}
          />
        </label>
        <button type="submit" className="button primary" disabled={applying}>
          {applying ? "Applying…" : installed > 0 ? "Apply and load" : "Apply"}
        </button>
      </form>
      <p className="provider-line" data-testid="active-provider">
        {model?.provider ? (
          <>
            Running on <strong>{model.provider.label}</strong>: {model.provider.reason}
          </>
        ) : model?.state === "loading" ? (
          "Loading the model…"
        ) : (
          "No model is loaded yet; the first message loads the default model."
        )}
      </p>
      {model?.state === "ready" ? (
        <button type="button" className="button subtle" onClick={() => void models.getState().unload()}>
          Unload from memory
        </button>
      ) : null}
    </section>
  );
}
