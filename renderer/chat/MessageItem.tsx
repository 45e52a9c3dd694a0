/** One message: the user's as plain text, the assistant's as Markdown, with what can be done to it. */
import { type KeyboardEvent, useState } from "react";
import type { Message } from "../../engine/api/contract.ts";
import { copyText } from "../components/CodeBlock.tsx";
import { IconButton } from "../components/IconButton.tsx";
import { CopyIcon, EditIcon, RefreshIcon } from "../components/icons.tsx";
import { Markdown } from "../components/Markdown.tsx";
import { formatSpeed } from "../lib/format.ts";
import { isRemoteName, modelFacts } from "../lib/remote.ts";
import { useChat, useModels, useStores } from "../stores/stores.tsx";
import { BranchSwitcher } from "./BranchSwitcher.tsx";
import { linkCitations } from "./citations.ts";
import { MessageSources } from "./MessageSources.tsx";

export function statsLine(message: Message): string | null {
  const stats = message.stats;
  if (!stats) return null;
  const stopped = message.interruption
    ? " · interrupted"
    : stats.finishReason === "cancelled"
      ? " · stopped"
      : stats.finishReason === "length"
        ? " · hit the length limit"
        : "";
  const about = stats.estimated ? "~" : "";
  return `${about}${stats.completionTokens} tokens · ${formatSpeed(stats.tokensPerSecond)}${stopped}`;
}

export function MessageItem({ message, busy }: { message: Message; busy: boolean }) {
  const { toasts } = useStores();
  const regenerate = useChat((s) => s.regenerate);
  const edit = useChat((s) => s.edit);
  const switchBranch = useChat((s) => s.switchBranch);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const isUser = message.role === "user";

  const copy = async () => {
    const ok = await copyText(message.content);
    toasts
      .getState()
      .show(ok ? { title: "Copied", tone: "info" } : { title: "Could not copy", tone: "error" });
  };
  const saveEdit = () => {
    if (!draft.trim()) return;
    setEditing(false);
    void edit(message.id, draft);
  };
  const onEditKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      saveEdit();
    } else if (event.key === "Escape") {
      event.stopPropagation();
      setEditing(false);
    }
  };

  const stats = statsLine(message);
  const remoteModels = useModels((s) => s.remote);
  const sentTo =
    message.role === "assistant" && isRemoteName(message.model)
      ? modelFacts(message.model, [], remoteModels)?.remote?.host
      : null;
  const interrupted = message.role === "assistant" ? message.interruption : null;
  return (
    <article
      className={`message ${message.role}${interrupted ? " interrupted" : ""}`}
      aria-label={isUser ? "You said" : "Elmwood replied"}
    >
      {editing ? (
        <div className="edit-box">
          <textarea
            aria-label="Edit message"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onEditKey}
            // biome-ignore lint/a11y/noAutofocus: the person just asked to edit this message
            autoFocus
            rows={3}
          />
          <div className="edit-actions">
            <button type="button" className="button subtle" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button
              type="button"
              className="button primary"
              onClick={saveEdit}
              disabled={!draft.trim() || busy}
            >
              Save and send
            </button>
          </div>
        </div>
      ) : (
        <div className="bubble">
          {isUser ? (
            <p className="user-text">{message.content}</p>
          ) : (
            <Markdown text={linkCitations(message.content, message.id, message.sources?.length ?? 0)} />
          )}
        </div>
      )}
      {interrupted ? (
        // A reply that was cut short says so where it ends, with the way to have it written whole.
        <div className="interruption" role="note" aria-label="Interrupted reply">
          <p>{interrupted.message}</p>
          <button
            type="button"
            className="button"
            disabled={busy}
            onClick={() => void regenerate(message.id)}
          >
            Regenerate
          </button>
        </div>
      ) : null}
      {message.sources ? <MessageSources messageId={message.id} sources={message.sources} /> : null}
      <footer className="message-footer">
        <BranchSwitcher
          id={message.id}
          siblingIds={message.siblingIds}
          siblingIndex={message.siblingIndex}
          disabled={busy}
          onSwitch={(id) => void switchBranch(id)}
        />
        {!editing ? (
          <div className="message-actions">
            <IconButton label="Copy message" icon={<CopyIcon />} onClick={copy} />
            {isUser ? (
              <IconButton
                label="Edit message"
                icon={<EditIcon />}
                disabled={busy}
                onClick={() => {
                  setDraft(message.content);
                  setEditing(true);
                }}
              />
            ) : (
              <IconButton
                label="Regenerate reply"
                icon={<RefreshIcon />}
                disabled={busy}
                onClick={() => void regenerate(message.id)}
              />
            )}
          </div>
        ) : null}
        {stats ? <span className="message-stats">{stats}</span> : null}
        {sentTo ? (
          <span className="message-sent-to" title={`Written by ${message.model}`}>
            sent to {sentTo}
          </span>
        ) : null}
      </footer>
    </article>
  );
}
