/**
 * The chat pane's store: the conversation on screen, the reply in flight, and the actions a person
 * takes on them. State changes go through the pure functions in chat-reducer.ts.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type {
  ChatStarted,
  Conversation,
  ConversationSettings,
  ConversationSettingsPatch,
  Message,
  Sampling,
} from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";
import {
  branchShown,
  type ChatView,
  emptyChat,
  type RequestKind,
  replyDone,
  replyFailed,
  requestBegun,
  requestRefused,
  requestStarted,
  stopRequested,
  tokenArrived,
} from "../chat/chat-reducer.ts";

export type ConversationMeta = Omit<Conversation, "messages">;

export interface ChatStore extends ChatView {
  meta: ConversationMeta | null;
  /** Settings chosen for a chat not started yet; sent with its first message. */
  draftSettings: ConversationSettingsPatch;
  loading: boolean;
  open(conversationId: string): Promise<void>;
  newChat(): void;
  send(content: string): Promise<void>;
  /** Lets the model read the message being typed ahead of Send (best effort, never shown). */
  prepare(draft: string): Promise<void>;
  stop(): Promise<void>;
  regenerate(messageId: string): Promise<void>;
  edit(messageId: string, content: string): Promise<void>;
  switchBranch(messageId: string): Promise<void>;
  /** Does again what failed last: the same reply, or the same message. */
  retry(): Promise<void>;
  updateSettings(patch: ConversationSettingsPatch): Promise<void>;
  resetSettings(): Promise<void>;
  dismissFailure(): void;
}

export interface ChatStoreOptions {
  now?: () => number;
  /** The defaults for new conversations (from Settings), for "reset to defaults". */
  defaults: () => { systemPrompt: string; sampling: Sampling } | null;
  /** A conversation was created, renamed by its first reply, or got a new message. */
  onConversationChanged?: (conversationId: string) => void;
  /**
   * A reply was cut short because the model was switched, restarted, unloaded or removed: the
   * person may be on another page (Models) when it happens, so it is worth saying there too.
   */
  onInterrupted?: (message: Message) => void;
}

function metaOf(conversation: Conversation): ConversationMeta {
  const { messages: _messages, ...meta } = conversation;
  return meta;
}

export function createChatStore(
  client: ElmwoodClient,
  options: ChatStoreOptions,
): StoreApi<ChatStore> & { dispose(): void } {
  const now = options.now ?? (() => performance.now());
  let lastSent: { content: string; parentId: string | null } | null = null;
  /**
   * Conversations left while their reply was still being written: the reply keeps streaming into
   * its own view here, and opening the conversation again shows it where it is now.
   */
  const background = new Map<string, ChatView>();
  const viewOf = (s: ChatView): ChatView => ({
    conversationId: s.conversationId,
    messages: s.messages,
    pendingUser: s.pendingUser,
    streaming: s.streaming,
    early: s.early,
    failure: s.failure,
  });
  /** Keeps the reply in flight, if any, before the screen shows something else. */
  const stashStreaming = (s: ChatView) => {
    if (s.streaming && s.conversationId) background.set(s.conversationId, viewOf(s));
  };
  /** Applies an event to the replies running in the background; a finished one is let go. */
  const inBackground = (apply: (v: ChatView) => ChatView) => {
    for (const [id, v] of background) {
      const next = apply(v);
      if (next.streaming) background.set(id, next);
      else background.delete(id);
    }
  };

  const store = createStore<ChatStore>()((set, get) => {
    const view = (change: (v: ChatView) => ChatView) => set((s) => change(s));

    const showConversation = (conversation: Conversation) =>
      set((s) => ({
        ...branchShown(s, conversation.id, conversation.messages),
        meta: metaOf(conversation),
        loading: false,
      }));

    /** Starts a reply; the starting call's failure is shown like any other. */
    const start = async (
      kind: RequestKind,
      call: () => Promise<ChatStarted>,
      begin: { anchorId?: string | null; text?: string },
    ) => {
      const before = get().messages;
      view((v) => requestBegun(v, kind, { ...begin, now: now() }));
      try {
        const started = await call();
        view((v) => requestStarted(v, started));
        // A conversation made before its first message (to attach documents) gets its title from it.
        const meta = get().meta;
        if (meta?.id !== started.conversationId || meta.messageCount === 0)
          void loadMeta(started.conversationId);
      } catch (error) {
        view((v) => requestRefused(v, asErrorInfo(error), before));
      }
    };

    const loadMeta = async (conversationId: string) => {
      try {
        const conversation = await client.conversations.get({ id: conversationId });
        if (get().conversationId === conversationId) set({ meta: metaOf(conversation), draftSettings: {} });
        options.onConversationChanged?.(conversationId);
      } catch {
        // The header falls back to "New chat"; the next open will fetch it again.
      }
    };

    return {
      ...emptyChat(),
      meta: null,
      draftSettings: {},
      loading: false,

      async open(conversationId) {
        if (get().conversationId === conversationId && get().meta) return;
        stashStreaming(get());
        const running = background.get(conversationId);
        if (running) {
          background.delete(conversationId);
          set({ ...running, meta: null, loading: false });
          void loadMeta(conversationId);
          return;
        }
        set({ ...emptyChat(), conversationId, meta: null, loading: true });
        try {
          showConversation(await client.conversations.get({ id: conversationId }));
        } catch (error) {
          set({ loading: false, failure: { error: asErrorInfo(error), kind: "send", messageId: null } });
        }
      },

      newChat() {
        stashStreaming(get());
        set({ ...emptyChat(), meta: null, draftSettings: {}, loading: false });
      },

      async send(content) {
        const text = content.trim();
        if (!text || get().streaming) return;
        const { conversationId, messages, draftSettings } = get();
        const parentId = messages.at(-1)?.id ?? null;
        lastSent = { content: text, parentId };
        await start(
          "send",
          () =>
            client.chat.send(
              conversationId
                ? { conversationId, content: text, ...(parentId ? { parentId } : {}) }
                : {
                    content: text,
                    ...(Object.keys(draftSettings).length ? { settings: draftSettings } : {}),
                  },
            ),
          { text },
        );
      },

      async prepare(draft) {
        const { conversationId, messages, streaming } = get();
        // A new chat has no conversation yet; a reply being written has the model.
        if (!conversationId || streaming) return;
        const parentId = messages.at(-1)?.id;
        try {
          await client.chat.prepare({ conversationId, content: draft, ...(parentId ? { parentId } : {}) });
        } catch {
          // Only a head start: when it cannot be had, Send computes the whole prompt as before.
        }
      },

      async stop() {
        const { streaming, conversationId } = get();
        if (!streaming) return;
        view(stopRequested);
        try {
          if (streaming.requestId) await client.chat.stop({ requestId: streaming.requestId });
          else if (conversationId) await client.chat.stop({ conversationId });
        } catch (error) {
          set({ failure: { error: asErrorInfo(error), kind: streaming.kind, messageId: null } });
        }
      },

      async regenerate(messageId) {
        const { conversationId, streaming } = get();
        if (!conversationId || streaming) return;
        await start("regenerate", () => client.chat.regenerate({ conversationId, messageId }), {
          anchorId: messageId,
        });
      },

      async edit(messageId, content) {
        const { conversationId, streaming } = get();
        const text = content.trim();
        if (!conversationId || streaming || !text) return;
        await start("edit", () => client.chat.edit({ conversationId, messageId, content: text }), {
          anchorId: messageId,
          text,
        });
      },

      async switchBranch(messageId) {
        const { conversationId, streaming } = get();
        if (!conversationId || streaming) return;
        try {
          showConversation(await client.chat.switchBranch({ conversationId, messageId }));
        } catch (error) {
          set({ failure: { error: asErrorInfo(error), kind: "send", messageId: null } });
        }
      },

      async retry() {
        const { failure, messages } = get();
        if (!failure) return;
        const last: Message | undefined = messages.at(-1);
        if (last?.role === "assistant") return get().regenerate(last.id);
        // The message was saved but its reply was not: send it again as a new version of itself.
        if (last?.role === "user") return get().edit(last.id, last.content);
        if (lastSent) return get().send(lastSent.content);
      },

      async updateSettings(patch) {
        const { meta } = get();
        if (!meta) {
          set((s) => ({
            draftSettings: {
              ...s.draftSettings,
              ...patch,
              sampling: { ...s.draftSettings.sampling, ...patch.sampling },
            },
          }));
          return;
        }
        try {
          const settings: ConversationSettings = await client.conversations.updateSettings({
            id: meta.id,
            ...patch,
          });
          if (get().meta?.id === meta.id) set({ meta: { ...meta, settings } });
        } catch (error) {
          set({ failure: { error: asErrorInfo(error), kind: "send", messageId: null } });
        }
      },

      async resetSettings() {
        const defaults = options.defaults();
        if (!get().meta) {
          set({ draftSettings: {} });
          return;
        }
        if (defaults)
          await get().updateSettings({
            systemPrompt: defaults.systemPrompt,
            sampling: defaults.sampling,
            // The model too: the conversation follows the default model again.
            model: null,
          });
      },

      dismissFailure() {
        set({ failure: null });
      },
    };
  });

  const stopListening = [
    client.on("chat.token", (event) => {
      store.setState((s) => tokenArrived(s, event, now()));
      inBackground((v) => tokenArrived(v, event, now()));
    }),
    client.on("chat.done", (event) => {
      store.setState((s) => replyDone(s, event));
      inBackground((v) => replyDone(v, event));
      options.onConversationChanged?.(event.conversationId);
      if (event.message.interruption?.cause.startsWith("model-")) options.onInterrupted?.(event.message);
    }),
    client.on("chat.error", (event) => {
      store.setState((s) => replyFailed(s, event));
      inBackground((v) => replyFailed(v, event));
    }),
  ];

  return Object.assign(store, {
    dispose: () => {
      for (const stop of stopListening) stop();
    },
  });
}
