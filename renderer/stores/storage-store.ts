/**
 * Where Elmwood keeps things, as Settings shows it, and moving the models folder: check a folder
 * first (what choosing it would do), then move there or use the store already there, following the
 * move's progress until it is done, failed or cancelled. The data folder moves at the next start:
 * here it is only scheduled, or the schedule cancelled.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { ErrorInfo, StorageInfo, StoreDestination, StoreMoveEvent } from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";

type Progress = Extract<StoreMoveEvent, { type: "progress" }>;
type Done = Extract<StoreMoveEvent, { type: "done" }>;

export interface StoreMoveJob {
  jobId: string;
  to: string;
  state: "running" | "done" | "failed";
  progress: Progress | null;
  result: Done | null;
  error: ErrorInfo | null;
}

export interface StorageStore {
  info: StorageInfo | null;
  /** The folder last checked, and what choosing it would do. */
  destination: StoreDestination | null;
  checking: boolean;
  move: StoreMoveJob | null;
  error: ErrorInfo | null;
  /** Why scheduling (or cancelling) a move of the data folder failed. */
  dataError: ErrorInfo | null;
  /** A data folder call is on its way. */
  scheduling: boolean;
  refresh(): Promise<void>;
  inspect(path: string): Promise<void>;
  clearDestination(): void;
  start(path: string, mode: "move" | "use-existing"): Promise<void>;
  cancel(): Promise<void>;
  dismiss(): void;
  scheduleDataMove(path: string): Promise<boolean>;
  cancelDataMove(): Promise<void>;
  dismissDataError(): void;
}

export function createStorageStore(client: ElmwoodClient): StoreApi<StorageStore> & { dispose(): void } {
  const store = createStore<StorageStore>()((set, get) => ({
    info: null,
    destination: null,
    checking: false,
    move: null,
    error: null,
    dataError: null,
    scheduling: false,

    async refresh() {
      try {
        const info = await client.storage.get();
        set({ info, error: null });
        // A move started elsewhere (another window, or before a reload) is followed too.
        if (info.moving && get().move?.jobId !== info.moving.jobId) {
          set({
            move: { ...info.moving, state: "running", progress: null, result: null, error: null },
          });
        }
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    async inspect(path) {
      set({ checking: true, destination: null, error: null });
      try {
        set({ destination: await client.storage.inspect({ path }), checking: false });
      } catch (error) {
        set({ checking: false, error: asErrorInfo(error) });
      }
    },

    clearDestination: () => set({ destination: null }),

    async start(path, mode) {
      set({ error: null });
      try {
        const { jobId } = await client.storage.moveModels({ path, mode });
        // Events may have arrived before the answer: keep what they said.
        set((s) => ({
          move:
            s.move?.jobId === jobId
              ? s.move
              : { jobId, to: path, state: "running", progress: null, result: null, error: null },
          destination: null,
        }));
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    async cancel() {
      const move = get().move;
      if (move?.state !== "running") return;
      try {
        await client.storage.cancelMove({ jobId: move.jobId });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    dismiss: () => set({ move: null, error: null }),

    async scheduleDataMove(path) {
      set({ scheduling: true, dataError: null });
      try {
        set({ info: await client.storage.scheduleDataMove({ path }), scheduling: false });
        return true;
      } catch (error) {
        set({ scheduling: false, dataError: asErrorInfo(error) });
        return false;
      }
    },

    async cancelDataMove() {
      set({ scheduling: true, dataError: null });
      try {
        set({ info: await client.storage.cancelDataMove(), scheduling: false });
      } catch (error) {
        set({ scheduling: false, dataError: asErrorInfo(error) });
      }
    },

    dismissDataError: () => set({ dataError: null }),
  }));

  const stop = client.on("storage.progress", ({ jobId, target, event }) => {
    const current = store.getState().move;
    const base: StoreMoveJob =
      current?.jobId === jobId
        ? current
        : { jobId, to: target, state: "running", progress: null, result: null, error: null };
    if (event.type === "progress") store.setState({ move: { ...base, progress: event } });
    else if (event.type === "done") {
      store.setState({ move: { ...base, state: "done", result: event }, info: event.storage });
    } else store.setState({ move: { ...base, state: "failed", error: event.error } });
  });
  return Object.assign(store, { dispose: stop });
}
