/**
 * The model manager's store: the catalog, the installed models, partial downloads, and the pulls and
 * imports running now (followed through models.progress).
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type {
  CatalogItem,
  DownloadInfo,
  EmbeddingCatalogItem,
  EmbeddingModelInfo,
  ErrorInfo,
  ModelInfo,
  ProviderChoice,
  RemoteModelInfo,
} from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";
import { applyProgress, isActive, jobFromEvent, type ModelJob, newJob } from "../models/job-progress.ts";

export interface ModelsStore {
  loaded: boolean;
  catalog: CatalogItem[];
  /** The catalog slug recommended for this machine. */
  recommended: string | null;
  models: ModelInfo[];
  /** The remote engines' models, as last listed (Settings → Engines). */
  remote: RemoteModelInfo[];
  broken: { name: string; problem: string }[];
  downloads: DownloadInfo[];
  defaultModel: string | null;
  /** The embedding model search by meaning uses, and whether it is installed. */
  embeddingCatalog: EmbeddingCatalogItem[];
  embeddings: EmbeddingModelInfo[];
  /** By job id. */
  jobs: Record<string, ModelJob>;
  /** What the person asked of a running pull, by target. */
  requested: Record<string, "pause" | "cancel">;
  error: ErrorInfo | null;
  refresh(): Promise<void>;
  /** Starts (or resumes) a pull of a catalog repository. */
  pull(repoId: string): Promise<void>;
  pause(repoId: string): Promise<void>;
  cancel(repoId: string): Promise<void>;
  importFolder(path: string): Promise<void>;
  remove(name: string): Promise<void>;
  /** Deletes the checkpoint Elmwood downloaded for a model, keeping the converted model. */
  removeSource(name: string): Promise<void>;
  setDefault(name: string): Promise<void>;
  /** Loads the default model now on this device; remembered in Settings. */
  useDevice(provider: ProviderChoice, threads: number | null): Promise<void>;
  unload(): Promise<void>;
  dismissError(): void;
  dismissJob(jobId: string): void;
}

/** The running or last job for a target (repository id or folder). */
export function jobFor(jobs: Record<string, ModelJob>, target: string): ModelJob | null {
  const matches = Object.values(jobs).filter((j) => j.target.toLowerCase() === target.toLowerCase());
  return matches.find(isActive) ?? matches.at(-1) ?? null;
}

export function createModelsStore(client: ElmwoodClient): StoreApi<ModelsStore> & { dispose(): void } {
  const store = createStore<ModelsStore>()((set, get) => {
    const attempt = async (work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    };
    const addJob = (job: ModelJob) =>
      set((s) => ({ jobs: { ...s.jobs, [job.jobId]: s.jobs[job.jobId] ?? job } }));

    return {
      loaded: false,
      catalog: [],
      recommended: null,
      models: [],
      remote: [],
      broken: [],
      downloads: [],
      defaultModel: null,
      embeddingCatalog: [],
      embeddings: [],
      jobs: {},
      requested: {},
      error: null,

      async refresh() {
        await attempt(async () => {
          const [catalog, list] = await Promise.all([client.models.catalog(), client.models.list()]);
          set({
            loaded: true,
            catalog: catalog.entries,
            recommended: catalog.recommended,
            models: list.models,
            remote: list.remote,
            broken: list.broken,
            downloads: list.downloads,
            defaultModel: list.defaultModel,
            embeddingCatalog: catalog.embedding,
            embeddings: list.embedding,
          });
        });
      },

      async pull(repoId) {
        set((s) => {
          const { [repoId]: _gone, ...requested } = s.requested;
          return { requested, error: null };
        });
        await attempt(async () => {
          const { jobId } = await client.models.pull({ repo: repoId });
          addJob(newJob(jobId, "pull", repoId));
        });
      },

      async pause(repoId) {
        set((s) => ({ requested: { ...s.requested, [repoId]: "pause" } }));
        await attempt(() => client.models.pause({ repo: repoId }));
      },

      async cancel(repoId) {
        set((s) => ({ requested: { ...s.requested, [repoId]: "cancel" } }));
        await attempt(async () => {
          await client.models.cancel({ repo: repoId });
          await get().refresh();
        });
      },

      async importFolder(path) {
        set({ error: null });
        await attempt(async () => {
          const { jobId } = await client.models.import({ path });
          addJob(newJob(jobId, "import", path));
        });
      },

      async remove(name) {
        await attempt(async () => {
          await client.models.remove({ name });
          await get().refresh();
        });
      },

      async removeSource(name) {
        await attempt(async () => {
          await client.models.removeSource({ name });
          await get().refresh();
        });
      },

      async setDefault(name) {
        await attempt(async () => {
          const { defaultModel } = await client.models.setDefault({ name });
          set({
            defaultModel,
            models: get().models.map((m) => ({ ...m, isDefault: m.name === defaultModel })),
            remote: get().remote.map((m) => ({ ...m, isDefault: m.name === defaultModel })),
          });
        });
      },

      async useDevice(provider, threads) {
        set({ error: null });
        await attempt(async () => {
          if (get().models.length === 0) await client.settings.update({ provider, threads });
          else await client.models.load({ provider, threads });
        });
      },

      async unload() {
        await attempt(() => client.models.unload());
      },

      dismissError() {
        set({ error: null });
      },

      dismissJob(jobId) {
        set((s) => {
          const { [jobId]: _gone, ...jobs } = s.jobs;
          return { jobs };
        });
      },
    };
  });

  const stop = client.on("models.progress", (event) => {
    const state = store.getState();
    const known = state.jobs[event.jobId];
    const job = known
      ? applyProgress(
          known,
          event.progress,
          state.requested[known.target] ?? state.requested[event.target] ?? null,
        )
      : jobFromEvent(event);
    store.setState({ jobs: { ...state.jobs, [event.jobId]: job } });
    if (!isActive(job)) void store.getState().refresh();
  });

  // An engine added, refreshed or removed changes the remote models listed beside the local ones.
  const stopEngines = client.on("engines.changed", () => void store.getState().refresh());

  return Object.assign(store, {
    dispose: () => {
      stop();
      stopEngines();
    },
  });
}
