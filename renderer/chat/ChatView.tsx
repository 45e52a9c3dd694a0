/** The chat place: the branch on screen, the reply in flight, failures with a way forward, the input. */
import { type DragEvent, useEffect, useRef, useState } from "react";
import type { ErrorInfo } from "../../engine/api/contract.ts";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { IconButton } from "../components/IconButton.tsx";
import { SlidersIcon } from "../components/icons.tsx";
import { readDropped } from "../documents/read-dropped.ts";
import { useChat, useChatPerFrame, useStores } from "../stores/stores.tsx";
import { AttachButton, AttachmentBar } from "./Attachments.tsx";
import { Composer } from "./Composer.tsx";
import { useChatModel } from "./chat-model.ts";
import { MessageItem } from "./MessageItem.tsx";
import { SettingsDrawer } from "./SettingsDrawer.tsx";
import { StreamingReply } from "./StreamingReply.tsx";

function FailureActions({ error }: { error: ErrorInfo }) {
  const { chat, ui, models } = useStores();
  const remote = useChatModel()?.remote != null;
  const goToModels = (
    <button type="button" className="button" onClick={() => ui.getState().go("models")}>
      Open Models
    </button>
  );
  // A remote engine's failure (unreachable, a key refused, a model gone) is mended in Settings.
  if (remote && (error.code === "NETWORK" || error.code === "NOT_FOUND")) {
    return (
      <>
        <button type="button" className="button" onClick={() => void chat.getState().retry()}>
          Try again
        </button>
        <button type="button" className="button" onClick={() => ui.getState().go("settings", "engines")}>
          Open engine settings
        </button>
      </>
    );
  }
  switch (error.code) {
    case "NOT_FOUND":
    case "MODEL":
    case "CHECKPOINT":
      return goToModels;
    case "PROVIDER":
      return (
        <>
          <button
            type="button"
            className="button"
            onClick={async () => {
              await models.getState().useDevice("cpu", null);
              await chat.getState().retry();
            }}
          >
            Use the CPU and retry
          </button>
          {goToModels}
        </>
      );
    case "CONTEXT_OVERFLOW":
      return (
        <>
          <button type="button" className="button" onClick={() => ui.getState().setDrawerOpen(true)}>
            Shorten replies
          </button>
          <button
            type="button"
            className="button"
            onClick={() => {
              chat.getState().newChat();
              ui.getState().requestComposerFocus();
            }}
          >
            New chat
          </button>
        </>
      );
    default:
      return (
        <button type="button" className="button" onClick={() => void chat.getState().retry()}>
          Try again
        </button>
      );
  }
}

export function ChatView() {
  const messages = useChat((s) => s.messages);
  const streaming = useChatPerFrame((s) => s.streaming);
  const pendingUser = useChat((s) => s.pendingUser);
  const failure = useChat((s) => s.failure);
  const meta = useChat((s) => s.meta);
  const loading = useChat((s) => s.loading);
  const dismissFailure = useChat((s) => s.dismissFailure);
  const regenerate = useChat((s) => s.regenerate);
  const { ui, grounding, extras, toasts } = useStores();
  const model = useChatModel();
  const bottom = useRef<HTMLDivElement>(null);
  const [dropping, setDropping] = useState(false);
  const busy = streaming !== null;

  // Follow the reply as it grows, and jump to the end of a conversation when it opens.
  const followKey = `${meta?.id}:${messages.length}:${streaming?.text.length ?? 0}:${pendingUser ?? ""}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key above is what should trigger a scroll
  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: "end" });
  }, [followKey]);

  // A document or folder dropped on the chat is attached to it (the window's own drop summarizes).
  const onDrop = async (event: DragEvent) => {
    if (!event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    setDropping(false);
    const dropped = await readDropped(event.dataTransfer, extras);
    if (!dropped) return;
    if (dropped.kind === "folder") void grounding.getState().attach(dropped.path);
    else if (dropped.kind === "file" && "path" in dropped.source)
      void grounding.getState().attach(dropped.source.path);
    else {
      toasts.getState().show({
        title: "Cannot attach that drop",
        description:
          dropped.kind === "unusable"
            ? dropped.reason
            : "This page cannot see where the file is. Attach it by its path with the paperclip.",
        tone: "error",
      });
    }
  };

  const empty = messages.length === 0 && !pendingUser && !streaming && !loading;
  // A question whose reply never came (Elmwood stopped before writing any, or it failed earlier).
  const last = messages.at(-1);
  const unanswered = last?.role === "user" && !busy && !failure && !loading && !pendingUser ? last : null;
  return (
    <section
      className={`chat${dropping ? " dropping" : ""}`}
      aria-label="Chat"
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault();
        setDropping(true);
      }}
      onDragLeave={() => setDropping(false)}
      onDrop={(e) => void onDrop(e)}
    >
      <header className="pane-header">
        <h1 className="pane-title">{meta?.title || "New chat"}</h1>
        <AttachButton />
        <IconButton
          label="Conversation settings"
          icon={<SlidersIcon />}
          onClick={() => ui.getState().setDrawerOpen(true)}
        />
      </header>
      {model?.remote ? (
        <p className="sent-to-note" role="note" aria-label="Where this conversation goes">
          Sent to <strong>{model.remote.host}</strong>: this conversation uses {model.name}, which runs on the
          engine '{model.remote.engine}'. What you send, with the conversation so far, goes there.
        </p>
      ) : null}
      <AttachmentBar />
      <div className="messages" aria-live="polite" aria-busy={busy}>
        {empty ? (
          <div className="empty-state">
            <h2>What shall we talk about?</h2>
            <p>
              {model?.remote
                ? `Messages go to ${model.remote.host}. Press Enter to send, Shift+Enter for a new line.`
                : "Everything stays on this computer. Press Enter to send, Shift+Enter for a new line."}
            </p>
            <p className="small">Drop a document or a folder here, or use the paperclip, to chat about it.</p>
          </div>
        ) : null}
        {loading ? <p className="muted">Opening the conversation…</p> : null}
        {messages.map((message) => (
          <MessageItem key={message.id} message={message} busy={busy} />
        ))}
        {pendingUser ? (
          <article className="message user pending" aria-label="You said">
            <div className="bubble">
              <p className="user-text">{pendingUser}</p>
            </div>
          </article>
        ) : null}
        {streaming ? <StreamingReply streaming={streaming} /> : null}
        {unanswered ? (
          <div className="interruption" role="note" aria-label="No reply">
            <p>No reply was written to this message.</p>
            <button type="button" className="button" onClick={() => void regenerate(unanswered.id)}>
              Write a reply
            </button>
          </div>
        ) : null}
        {failure ? (
          <ErrorNotice
            title="The reply could not be written"
            error={failure.error}
            actions={<FailureActions error={failure.error} />}
            onDismiss={dismissFailure}
          />
        ) : null}
        <div ref={bottom} />
      </div>
      <Composer />
      <SettingsDrawer />
    </section>
  );
}
