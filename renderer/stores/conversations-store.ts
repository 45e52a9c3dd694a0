/**
 * The sidebar's list of conversations: loading, searching as the person types, rename and delete,
 * export to a file and import from one.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type {
  Conversation,
  ConversationFile,
  ConversationHit,
  ConversationSummary,
  ErrorInfo,
  ExportFormat,
} from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";

export interface ConversationsStore {
  loaded: boolean;
  conversations: ConversationSummary[];
  query: string;
  /** Results for `query`; null while the box is empty. */
  hits: ConversationHit[] | null;
  error: ErrorInfo | null;
  refresh(): Promise<void>;
  search(query: string): Promise<void>;
  rename(id: string, title: string): Promise<boolean>;
  remove(id: string): Promise<boolean>;
  /** The conversation as a file to save; null when it failed (`error` says why). */
  exportFile(id: string, format: ExportFormat): Promise<ConversationFile | null>;
  /** A file's text imported as a new conversation; null when it was refused (`error` says why). */
  importFile(text: string): Promise<{ conversation: Conversation; notes: string[] } | null>;
  dismissError(): void;
}

export function createConversationsStore(client: ElmwoodClient): StoreApi<ConversationsStore> {
  return createStore<ConversationsStore>()((set, get) => ({
    loaded: false,
    conversations: [],
    query: "",
    hits: null,
    error: null,

    async refresh() {
      try {
        const { conversations } = await client.conversations.list({ limit: 500 });
        set({ conversations, loaded: true, error: null });
        if (get().query) await get().search(get().query);
      } catch (error) {
        set({ error: asErrorInfo(error), loaded: true });
      }
    },

    async search(query) {
      set({ query });
      const trimmed = query.trim();
      if (!trimmed) {
        set({ hits: null });
        return;
      }
      try {
        const { hits } = await client.conversations.search({
          query: trimmed.slice(0, 500),
          limit: 50,
          // The box searches as the person types, so the word being typed matches as a prefix.
          asYouType: true,
        });
        // A slower answer to an older query must not replace a newer one.
        if (get().query === query) set({ hits, error: null });
      } catch (error) {
        if (get().query === query) set({ error: asErrorInfo(error) });
      }
    },

    async rename(id, title) {
      try {
        const summary = await client.conversations.rename({ id, title });
        set((s) => ({ conversations: s.conversations.map((c) => (c.id === id ? summary : c)) }));
        return true;
      } catch (error) {
        set({ error: asErrorInfo(error) });
        return false;
      }
    },

    async remove(id) {
      try {
        await client.conversations.delete({ id });
        set((s) => ({
          conversations: s.conversations.filter((c) => c.id !== id),
          hits: s.hits?.filter((h) => h.conversationId !== id) ?? null,
        }));
        return true;
      } catch (error) {
        set({ error: asErrorInfo(error) });
        return false;
      }
    },

    async exportFile(id, format) {
      try {
        return await client.conversations.export({ id, format });
      } catch (error) {
        set({ error: asErrorInfo(error) });
        return null;
      }
    },

    async importFile(text) {
      try {
        const imported = await client.conversations.import({ content: text });
        set({ error: null });
        await get().refresh();
        return imported;
      } catch (error) {
        set({ error: asErrorInfo(error) });
        return null;
      }
    },

    dismissError() {
      set({ error: null });
    },
  }));
}
