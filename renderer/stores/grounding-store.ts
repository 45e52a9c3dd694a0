/**
 * Chat grounded in documents, as the chat pane shows it: the folders and files the conversation on
 * screen draws on, and the passages a person took out of a reply's sources. A chat not started yet
 * becomes a conversation when something is attached to it, so there is somewhere to keep it.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { CitedChunk, ConversationAttachment, ErrorInfo } from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";
import type { ChatStore } from "./chat-store.ts";

export interface GroundingStore {
  /** The conversation `attachments` belong to. */
  conversationId: string | null;
  attachments: ConversationAttachment[];
  /** A reply's sources as changed since it was loaded (a passage removed), by message id. */
  sources: Record<string, CitedChunk[]>;
  attaching: boolean;
  error: ErrorInfo | null;
  /** Reads what the conversation on screen draws on (call when it changes). */
  load(conversationId: string | null): Promise<void>;
  attach(path: string): Promise<void>;
  detach(path: string): Promise<void>;
  /** Takes a passage a reply used out of the conversation's later turns. */
  exclude(messageId: string, n: number): Promise<void>;
  dismissError(): void;
}

export function createGroundingStore(
  client: ElmwoodClient,
  chat: StoreApi<ChatStore>,
): StoreApi<GroundingStore> & { dispose(): void } {
  const store = createStore<GroundingStore>()((set, get) => ({
    conversationId: null,
    attachments: [],
    sources: {},
    attaching: false,
    error: null,

    async load(conversationId) {
      if (conversationId === get().conversationId) return;
      set({ conversationId, attachments: [], sources: {}, error: null });
      if (!conversationId) return;
      try {
        const conversation = await client.conversations.get({ id: conversationId });
        if (get().conversationId === conversationId) set({ attachments: conversation.attachments ?? [] });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    async attach(path) {
      set({ attaching: true, error: null });
      try {
        let id = chat.getState().conversationId;
        if (!id) {
          const { draftSettings } = chat.getState();
          const created = await client.conversations.create(
            Object.keys(draftSettings).length ? { settings: draftSettings } : {},
          );
          id = created.id;
          set({ conversationId: id });
          await chat.getState().open(id);
        }
        const { attachments } = await client.conversations.attach({ id, path });
        if (get().conversationId === id) set({ attachments });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      } finally {
        set({ attaching: false });
      }
    },

    async detach(path) {
      const id = get().conversationId;
      if (!id) return;
      try {
        const { attachments } = await client.conversations.detach({ id, path });
        if (get().conversationId === id) set({ attachments });
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    async exclude(messageId, n) {
      const id = get().conversationId;
      if (!id) return;
      try {
        const { sources } = await client.conversations.excludeSource({ id, messageId, n });
        set((s) => ({ sources: { ...s.sources, [messageId]: sources } }));
      } catch (error) {
        set({ error: asErrorInfo(error) });
      }
    },

    dismissError() {
      set({ error: null });
    },
  }));
  // Follows the conversation on screen.
  const stop = chat.subscribe((state) => {
    if (state.conversationId !== store.getState().conversationId && !store.getState().attaching)
      void store.getState().load(state.conversationId);
  });
  return Object.assign(store, { dispose: stop });
}
