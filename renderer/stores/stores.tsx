/**
 * Every feature's store, made once per window and handed to the views through context, so tests can
 * mount a view with stores over a fake client. Components read with selectors: `useChat((s) => s.streaming)`.
 */
import { createContext, type ReactNode, useContext, useEffect, useRef, useState } from "react";
import { useStore } from "zustand";
import type { StoreApi } from "zustand/vanilla";
import type { ElmwoodClient } from "../api/client.ts";
import type { DesktopExtras } from "../api/desktop-transport.ts";
import { type ApiStore, createApiStore } from "./api-store.ts";
import { type ChatStore, createChatStore } from "./chat-store.ts";
import { type ConversationsStore, createConversationsStore } from "./conversations-store.ts";
import { createDocumentsStore, type DocumentsStore } from "./documents-store.ts";
import { createEnginesStore, type EnginesStore } from "./engines-store.ts";
import { createGroundingStore, type GroundingStore } from "./grounding-store.ts";
import { createModelsStore, type ModelsStore } from "./models-store.ts";
import { createSearchStore, type SearchStore } from "./search-store.ts";
import { createSettingsStore, type SettingsStore } from "./settings-store.ts";
import { createStatusStore, type StatusStore } from "./status-store.ts";
import { createStorageStore, type StorageStore } from "./storage-store.ts";
import { createToastStore, type ToastStore } from "./toast-store.ts";
import { createUiStore, type UiStore } from "./ui-store.ts";

export interface Stores {
  client: ElmwoodClient;
  extras: DesktopExtras;
  chat: StoreApi<ChatStore>;
  conversations: StoreApi<ConversationsStore>;
  models: StoreApi<ModelsStore>;
  status: StoreApi<StatusStore>;
  settings: StoreApi<SettingsStore>;
  api: StoreApi<ApiStore>;
  engines: StoreApi<EnginesStore>;
  storage: StoreApi<StorageStore>;
  documents: StoreApi<DocumentsStore>;
  search: StoreApi<SearchStore>;
  grounding: StoreApi<GroundingStore>;
  ui: StoreApi<UiStore>;
  toasts: StoreApi<ToastStore>;
  dispose(): void;
}

export function createStores(client: ElmwoodClient, extras: DesktopExtras = {}): Stores {
  const settings = createSettingsStore(client);
  const conversations = createConversationsStore(client);
  const toasts = createToastStore();
  const chat = createChatStore(client, {
    defaults: () => {
      const s = settings.getState().settings;
      return s ? { systemPrompt: s.systemPrompt, sampling: s.sampling } : null;
    },
    onConversationChanged: () => void conversations.getState().refresh(),
    onInterrupted: (message) =>
      toasts.getState().show({
        title: "A reply was interrupted",
        description: message.interruption?.message,
        tone: "info",
      }),
  });
  const models = createModelsStore(client);
  const status = createStatusStore(client);
  const documents = createDocumentsStore(client);
  const search = createSearchStore(client);
  const grounding = createGroundingStore(client, chat);
  const api = createApiStore(client);
  const engines = createEnginesStore(client);
  const storage = createStorageStore(client);
  // A model that finishes installing says so, wherever the person is in the app.
  const stopAnnouncing = models.subscribe((state, previous) => {
    for (const job of Object.values(state.jobs)) {
      if (job.phase === "finished" && previous.jobs[job.jobId]?.phase !== "finished") {
        toasts.getState().show({ title: `${job.installed ?? "The model"} is installed`, tone: "info" });
      }
    }
  });
  // A result opened without going to its page says so where the person looks, wherever they scrolled.
  const stopNoticing = search.subscribe((state, previous) => {
    if (state.notice && state.notice !== previous.notice) {
      toasts.getState().show({ title: state.notice, tone: "info" });
    }
  });
  // A moved store has new paths (and the model was let go): the Models page and status read it again.
  const stopFollowingMoves = storage.subscribe((state, previous) => {
    if (state.move?.state === "done" && previous.move?.state !== "done") {
      void models.getState().refresh();
      void status.getState().refresh();
      const result = state.move.result;
      toasts.getState().show({
        title:
          result?.method === "pointer" ? "Using the models in the new folder" : "The models folder was moved",
        description: state.move.to,
        tone: "info",
      });
    }
  });
  return {
    client,
    extras,
    chat,
    conversations,
    models,
    status,
    settings,
    api,
    engines,
    storage,
    documents,
    search,
    grounding,
    ui: createUiStore(),
    toasts,
    dispose() {
      stopAnnouncing();
      stopFollowingMoves();
      stopNoticing();
      for (const store of [chat, models, status, documents, search, storage, engines, grounding])
        store.dispose();
      api.getState().dispose();
    },
  };
}

const StoresContext = createContext<Stores | null>(null);

export function StoresProvider({ stores, children }: { stores: Stores; children: ReactNode }) {
  return <StoresContext.Provider value={stores}>{children}</StoresContext.Provider>;
}

export function useStores(): Stores {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error("useStores needs a StoresProvider above it");
  return stores;
}

export const useChat = <T,>(select: (s: ChatStore) => T): T => useStore(useStores().chat, select);

const nextFrame =
  typeof requestAnimationFrame === "function"
    ? (run: () => void) => {
        const id = requestAnimationFrame(run);
        return () => cancelAnimationFrame(id);
      }
    : (run: () => void) => {
        const id = setTimeout(run, 16);
        return () => clearTimeout(id);
      };

/**
 * useChat for what changes with every streamed token (the reply in progress), re-rendering at most once
 * per animation frame while it streams. A reply can stream hundreds of tokens a second; re-rendering
 * the chat and its Markdown for each one can outrun the page, and then a key press (Escape to stop)
 * waits behind the backlog. A value appearing or going (null), as when a reply starts or ends, shows at
 * once, so the finished reply never sits beside a stale streaming one.
 */
export function useChatPerFrame<T>(select: (s: ChatStore) => T | null): T | null {
  const store = useStores().chat;
  const [value, setValue] = useState(() => select(store.getState()));
  const selectRef = useRef(select);
  selectRef.current = select;
  const shown = useRef(value);
  useEffect(() => {
    let cancel: (() => void) | null = null;
    const update = () => {
      cancel?.();
      cancel = null;
      shown.current = selectRef.current(store.getState());
      setValue(() => shown.current);
    };
    const unsubscribe = store.subscribe((state) => {
      const next = selectRef.current(state);
      if (next === null || shown.current === null) update();
      else cancel ??= nextFrame(update);
    });
    update(); // a change between the first render and the subscription
    return () => {
      unsubscribe();
      cancel?.();
    };
  }, [store]);
  return value;
}
export const useConversations = <T,>(select: (s: ConversationsStore) => T): T =>
  useStore(useStores().conversations, select);
export const useModels = <T,>(select: (s: ModelsStore) => T): T => useStore(useStores().models, select);
export const useStatus = <T,>(select: (s: StatusStore) => T): T => useStore(useStores().status, select);
export const useSettings = <T,>(select: (s: SettingsStore) => T): T => useStore(useStores().settings, select);
export const useDocuments = <T,>(select: (s: DocumentsStore) => T): T =>
  useStore(useStores().documents, select);
export const useSearch = <T,>(select: (s: SearchStore) => T): T => useStore(useStores().search, select);
export const useEngines = <T,>(select: (s: EnginesStore) => T): T => useStore(useStores().engines, select);
export const useStorage = <T,>(select: (s: StorageStore) => T): T => useStore(useStores().storage, select);
export const useGrounding = <T,>(select: (s: GroundingStore) => T): T =>
  useStore(useStores().grounding, select);
export const useUi = <T,>(select: (s: UiStore) => T): T => useStore(useStores().ui, select);
export const useToasts = <T,>(select: (s: ToastStore) => T): T => useStore(useStores().toasts, select);
