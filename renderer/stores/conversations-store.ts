/** The sidebar's list of conversations: loading, searching as the person types, rename and delete. */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { ConversationHit, ConversationSummary, ErrorInfo } from "../../engine/api/contract.ts";
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
        const { hits } = await client.conversations.search({ query: trimmed.slice(0, 500), limit: 50 });
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
  }));
}
