/**
 * What the chat pane shows, and how each call result and event changes it, as pure functions (the
 * store wires them to the client). The branch on screen is a list of messages, root first; a reply in
 * flight is `streaming` until chat.done or chat.error settles it.
 *
 * Events can overtake the call that started them (the token stream and the call's answer travel
 * separately), so events for a request not yet known are kept in `early` and replayed when it is.
 */
import type { ChatStarted, ErrorInfo, EventPayload, Message } from "../../engine/api/contract.ts";

export type RequestKind = "send" | "regenerate" | "edit";

export interface Streaming {
  kind: RequestKind;
  /** null until the starting call answers. */
  requestId: string | null;
  /** The assistant message being written (its id once saved). */
  messageId: string | null;
  /** The user message it answers. */
  parentId: string | null;
  /** The reply's alternatives including this one, oldest first: "< 2/2 >" while it streams. */
  siblingIds: string[];
  text: string;
  tokens: number;
  startedAt: number;
  firstTokenAt: number | null;
  lastTokenAt: number | null;
  stopping: boolean;
}

export interface ChatFailure {
  error: ErrorInfo;
  kind: RequestKind;
  /** The message a retry would regenerate or resend from. */
  messageId: string | null;
}

interface EarlyEvents {
  text: string;
  tokens: number;
  firstTokenAt: number | null;
  lastTokenAt: number | null;
  done?: Message;
  error?: ErrorInfo;
}

export interface ChatView {
  conversationId: string | null;
  /** The branch on screen, root first. */
  messages: Message[];
  /** A sent message shown before the engine has saved it. */
  pendingUser: string | null;
  streaming: Streaming | null;
  early: Record<string, EarlyEvents>;
  failure: ChatFailure | null;
}

export const emptyChat = (): ChatView => ({
  conversationId: null,
  messages: [],
  pendingUser: null,
  streaming: null,
  early: {},
  failure: null,
});

/** A conversation opened or a branch switched: the engine's messages replace ours. */
export function branchShown(view: ChatView, conversationId: string, messages: Message[]): ChatView {
  const keepStreaming = view.conversationId === conversationId ? view.streaming : null;
  return { ...view, conversationId, messages, pendingUser: null, streaming: keepStreaming, failure: null };
}

/**
 * The person asked for a reply; the view reacts before the engine answers. `anchorId` is the message
 * the request replaces (the edited user message, the regenerated reply), the question a regenerated
 * reply answers when it has none yet, or null for a new message.
 */
export function requestBegun(
  view: ChatView,
  kind: RequestKind,
  options: { anchorId?: string | null; text?: string; now: number },
): ChatView {
  let messages = view.messages;
  let siblingIds: string[] = [];
  let parentId: string | null = messages.at(-1)?.id ?? null;
  const anchorIndex = options.anchorId ? messages.findIndex((m) => m.id === options.anchorId) : -1;
  if (anchorIndex >= 0) {
    const anchor = messages[anchorIndex];
    if (kind === "regenerate" && anchor.role === "user") {
      // A question left without a reply: the reply goes under it, and the question stays in view.
      messages = messages.slice(0, anchorIndex + 1);
      parentId = anchor.id;
    } else {
      messages = messages.slice(0, anchorIndex);
      parentId = anchor.parentId;
      if (kind === "regenerate") siblingIds = [...anchor.siblingIds];
    }
  }
  return {
    ...view,
    messages,
    failure: null,
    pendingUser: kind === "regenerate" ? null : (options.text ?? null),
    early: {},
    streaming: {
      kind,
      requestId: null,
      messageId: null,
      parentId,
      siblingIds,
      text: "",
      tokens: 0,
      startedAt: options.now,
      firstTokenAt: null,
      lastTokenAt: null,
      stopping: false,
    },
  };
}

/** The starting call answered: the saved user message joins the branch, the reply gets its ids. */
export function requestStarted(view: ChatView, started: ChatStarted): ChatView {
  const streaming = view.streaming;
  if (!streaming || streaming.requestId !== null) return view;
  const messages = streaming.kind === "regenerate" ? view.messages : [...view.messages, started.userMessage];
  const siblingIds =
    streaming.kind === "regenerate"
      ? [...streaming.siblingIds, started.assistantMessageId]
      : [started.assistantMessageId];
  let next: ChatView = {
    ...view,
    conversationId: started.conversationId,
    messages,
    pendingUser: null,
    streaming: {
      ...streaming,
      requestId: started.requestId,
      messageId: started.assistantMessageId,
      parentId: started.userMessage.id,
      siblingIds,
    },
  };
  const early = view.early[started.requestId];
  next = { ...next, early: {} };
  if (early) {
    const s = next.streaming as Streaming;
    next = {
      ...next,
      streaming: {
        ...s,
        text: s.text + early.text,
        tokens: Math.max(s.tokens, early.tokens),
        firstTokenAt: s.firstTokenAt ?? early.firstTokenAt,
        lastTokenAt: early.lastTokenAt ?? s.lastTokenAt,
      },
    };
    if (early.done) next = replyDone(next, { requestId: started.requestId, message: early.done });
    else if (early.error) next = replyFailed(next, { requestId: started.requestId, error: early.error });
  }
  return next;
}

/** The starting call itself failed: nothing is streaming, the branch is as the engine left it. */
export function requestRefused(view: ChatView, error: ErrorInfo, restore: Message[]): ChatView {
  const kind = view.streaming?.kind ?? "send";
  return {
    ...view,
    messages: restore,
    pendingUser: null,
    streaming: null,
    early: {},
    failure: { error, kind, messageId: restore.at(-1)?.id ?? null },
  };
}

function awaitingStart(view: ChatView): boolean {
  return view.streaming !== null && view.streaming.requestId === null;
}

function withEarly(view: ChatView, requestId: string, change: (e: EarlyEvents) => EarlyEvents): ChatView {
  const current = view.early[requestId] ?? { text: "", tokens: 0, firstTokenAt: null, lastTokenAt: null };
  return { ...view, early: { ...view.early, [requestId]: change(current) } };
}

export function tokenArrived(
  view: ChatView,
  event: Pick<EventPayload<"chat.token">, "requestId" | "delta" | "tokens">,
  now: number,
): ChatView {
  const streaming = view.streaming;
  if (streaming && streaming.requestId === event.requestId) {
    return {
      ...view,
      streaming: {
        ...streaming,
        text: streaming.text + event.delta,
        tokens: Math.max(streaming.tokens, event.tokens),
        firstTokenAt: streaming.firstTokenAt ?? now,
        lastTokenAt: now,
      },
    };
  }
  if (!awaitingStart(view)) return view;
  return withEarly(view, event.requestId, (e) => ({
    ...e,
    text: e.text + event.delta,
    tokens: Math.max(e.tokens, event.tokens),
    firstTokenAt: e.firstTokenAt ?? now,
    lastTokenAt: now,
  }));
}

/** The reply is saved: the engine's message (with its siblings and stats) takes the stream's place. */
export function replyDone(view: ChatView, event: { requestId: string; message: Message }): ChatView {
  const streaming = view.streaming;
  if (streaming && streaming.requestId === event.requestId) {
    return { ...view, messages: [...view.messages, event.message], streaming: null };
  }
  if (!awaitingStart(view)) return view;
  return withEarly(view, event.requestId, (e) => ({ ...e, done: event.message }));
}

/** Nothing was saved for the reply; the user message stays and the failure says what to do. */
export function replyFailed(view: ChatView, event: { requestId: string; error: ErrorInfo }): ChatView {
  const streaming = view.streaming;
  if (streaming && streaming.requestId === event.requestId) {
    return {
      ...view,
      streaming: null,
      failure: { error: event.error, kind: streaming.kind, messageId: view.messages.at(-1)?.id ?? null },
    };
  }
  if (!awaitingStart(view)) return view;
  return withEarly(view, event.requestId, (e) => ({ ...e, error: event.error }));
}

export function stopRequested(view: ChatView): ChatView {
  if (!view.streaming) return view;
  return { ...view, streaming: { ...view.streaming, stopping: true } };
}

/** Tokens per second of the reply in flight, from its first token on; null before there are two. */
export function liveTokensPerSecond(streaming: Streaming): number | null {
  const { firstTokenAt, lastTokenAt, tokens } = streaming;
  if (firstTokenAt === null || lastTokenAt === null || tokens < 2 || lastTokenAt <= firstTokenAt) return null;
  return ((tokens - 1) * 1000) / (lastTokenAt - firstTokenAt);
}

/** "< 2/3 >": where a message stands among its alternatives, and the neighbours to move to. */
export function branchPosition(message: Pick<Message, "siblingIds" | "siblingIndex" | "id">): {
  index: number;
  count: number;
  previousId: string | null;
  nextId: string | null;
} {
  const count = message.siblingIds.length;
  const found = message.siblingIds.indexOf(message.id);
  const index = found >= 0 ? found : message.siblingIndex;
  return {
    index,
    count,
    previousId: index > 0 ? (message.siblingIds[index - 1] ?? null) : null,
    nextId: index < count - 1 ? (message.siblingIds[index + 1] ?? null) : null,
  };
}
