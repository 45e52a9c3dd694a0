/**
 * Documents: the indexed folders with their status, and summaries of dropped files streaming in
 * ("part 4 of 11") until done, failed or cancelled.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type {
  ErrorInfo,
  EventPayload,
  FolderStatus,
  MeaningStatus,
  SummaryResult,
  SummaryStyle,
} from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";

export interface SummaryJob {
  jobId: string;
  source: string;
  state: "running" | "done" | "failed" | "cancelled";
  stage: "map" | "reduce" | "final" | null;
  part: number;
  of: number;
  text: string;
  result: SummaryResult | null;
  error: ErrorInfo | null;
}

export interface DocumentsStore {
  folders: FolderStatus[];
  indexing: boolean;
  /** Search by meaning: whether passages are getting their vectors, and how far along. */
  meaning: MeaningStatus | null;
  summary: SummaryJob | null;
  error: ErrorInfo | null;
  refresh(): Promise<void>;
  addFolder(path: string): Promise<void>;
  removeFolder(path: string): Promise<void>;
  summarize(source: { path: string } | { text: string; name: string }, style?: SummaryStyle): Promise<void>;
  cancelSummary(): Promise<void>;
  /** Pauses or resumes giving passages their vectors (the meaningSearch setting). */
  setMeaning(on: boolean): Promise<void>;
  dismissError(): void;
}

type SummaryEvent = EventPayload<"summary.progress">["event"];

export function applySummaryEvent(job: SummaryJob, event: SummaryEvent): SummaryJob {
  switch (event.type) {
    case "progress":
      return { ...job, stage: event.stage, part: event.part, of: event.of };
    case "text":
      return { ...job, text: job.text + event.delta };
    case "done":
      return { ...job, state: "done", result: event.result, text: event.result.summary };
    case "error":
      return { ...job, state: event.error.code === "CANCELLED" ? "cancelled" : "failed", error: event.error };
  }
}

export function createDocumentsStore(client: ElmwoodClient): StoreApi<DocumentsStore> & { dispose(): void } {
  const store = createStore<DocumentsStore>()((set, get) => ({
    folders: [],
    indexing: false,
    meaning: null,
    summary: null,
    error: null,

    async refresh() {
      try {
        const { folders, indexing, meaning } = await client.documents.status();
        set({ folders, indexing, meaning });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    async addFolder(path) {
      try {
        const folder = await client.documents.addFolder({ path });
        set((s) => ({ folders: [...s.folders.filter((f) => f.id !== folder.id), folder], error: null }));
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    async removeFolder(path) {
      try {
        await client.documents.removeFolder({ path });
        set((s) => ({ folders: s.folders.filter((f) => f.path !== path) }));
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    async summarize(source, style) {
      const name = "path" in source ? source.path : source.name;
      set({
        error: null,
        summary: {
          jobId: "",
          source: name,
          state: "running",
          stage: null,
          part: 0,
          of: 0,
          text: "",
          result: null,
          error: null,
        },
      });
      try {
        const { jobId } = await client.documents.summarize({ ...source, ...(style ? { style } : {}) });
        set((s) => (s.summary ? { summary: { ...s.summary, jobId } } : {}));
      } catch (error) {
        set((s) => ({
          summary: s.summary ? { ...s.summary, state: "failed", error: asErrorInfo(error) } : null,
        }));
      }
    },

    async cancelSummary() {
      const job = get().summary;
      if (!job?.jobId || job.state !== "running") return;
      try {
        await client.documents.cancel({ jobId: job.jobId });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    async setMeaning(on) {
      try {
        await client.settings.update({ meaningSearch: on });
        const { meaning } = await client.documents.status();
        set({ meaning });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    dismissError() {
      set({ error: null });
    },
  }));

  let refreshing: Promise<void> | null = null;
  const stops = [
    client.on("summary.progress", (payload) => {
      const job = store.getState().summary;
      // The first events may come before the call has told us the job's id.
      if (!job || (job.jobId && job.jobId !== payload.jobId)) return;
      store.setState({ summary: applySummaryEvent({ ...job, jobId: payload.jobId }, payload.event) });
    }),
    client.on("documents.progress", (event) => {
      if (event.type === "meaning") {
        store.setState({ meaning: event.status });
        return;
      }
      if (event.type === "progress") {
        store.setState((s) => ({
          indexing: true,
          folders: s.folders.map((f) =>
            f.id === event.folderId
              ? { ...f, state: "indexing", filesDone: event.done, filesTotal: event.total }
              : f,
          ),
        }));
        return;
      }
      if (event.type === "folder" || event.type === "idle") {
        // Many folder events arrive together; one reread answers them all.
        if (refreshing) return;
        refreshing = store
          .getState()
          .refresh()
          .finally(() => {
            refreshing = null;
          });
      }
    }),
  ];
  return Object.assign(store, {
    dispose: () => {
      for (const stop of stops) stop();
    },
  });
}
