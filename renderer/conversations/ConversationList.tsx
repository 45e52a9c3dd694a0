/** The sidebar's conversations: search as you type, grouped by day, rename and delete from a menu. */
import * as DropdownMenu from "@radix-ui/react-dropdown-menu";
import { useEffect, useMemo, useState } from "react";
import type { ConversationSummary } from "../../engine/api/contract.ts";
import { ConfirmDialog, TextDialog } from "../components/Dialogs.tsx";
import { MoreIcon } from "../components/icons.tsx";
import { useChat, useConversations, useStores } from "../stores/stores.tsx";
import { groupByDay } from "./group-by-day.ts";

function ConversationRow({
  conversation,
  current,
  onRename,
  onDelete,
}: {
  conversation: ConversationSummary;
  current: boolean;
  onRename(): void;
  onDelete(): void;
}) {
  const { chat, ui } = useStores();
  const [menuOpen, setMenuOpen] = useState(false);
  return (
    <li
      className={`conversation${current ? " current" : ""}`}
      onContextMenu={(event) => {
        // Right-click opens the same menu as the "…" button.
        event.preventDefault();
        setMenuOpen(true);
      }}
    >
      <button
        type="button"
        className="conversation-open"
        aria-current={current ? "page" : undefined}
        onClick={() => {
          ui.getState().go("chat");
          void chat.getState().open(conversation.id);
        }}
      >
        {conversation.title || "Untitled"}
      </button>
      <DropdownMenu.Root modal={false} open={menuOpen} onOpenChange={setMenuOpen}>
        <DropdownMenu.Trigger
          className="icon-button row-menu"
          aria-label={`More actions for ${conversation.title}`}
        >
          <MoreIcon />
        </DropdownMenu.Trigger>
        {/* Not portalled to <body>: kept inside the Conversations landmark, where it belongs for a
            screen reader's landmark navigation (it is position: fixed, so the list's overflow
            does not clip it). */}
        <DropdownMenu.Content className="menu" align="end" sideOffset={4}>
          <DropdownMenu.Item className="menu-item" onSelect={onRename}>
            Rename…
          </DropdownMenu.Item>
          <DropdownMenu.Item className="menu-item danger" onSelect={onDelete}>
            Delete…
          </DropdownMenu.Item>
        </DropdownMenu.Content>
      </DropdownMenu.Root>
    </li>
  );
}

export function ConversationList() {
  const { conversations: store, chat, ui } = useStores();
  const conversations = useConversations((s) => s.conversations);
  const hits = useConversations((s) => s.hits);
  const loaded = useConversations((s) => s.loaded);
  const currentId = useChat((s) => s.conversationId);
  const [query, setQuery] = useState("");
  const [renaming, setRenaming] = useState<ConversationSummary | null>(null);
  const [deleting, setDeleting] = useState<ConversationSummary | null>(null);

  // Search as the person types, once they pause.
  useEffect(() => {
    const timer = setTimeout(() => void store.getState().search(query), 150);
    return () => clearTimeout(timer);
  }, [query, store]);

  const groups = useMemo(() => groupByDay(conversations, Date.now()), [conversations]);

  return (
    <nav className="conversation-list" aria-label="Conversations">
      <input
        type="search"
        className="sidebar-search"
        aria-label="Search conversations"
        placeholder="Search conversations"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      {query.trim() && hits ? (
        hits.length === 0 ? (
          <p className="muted small">No conversation mentions “{query.trim()}”.</p>
        ) : (
          <ul className="hits">
            {hits.map((hit) => (
              <li key={`${hit.conversationId}:${hit.messageId ?? "title"}`}>
                <button
                  type="button"
                  className="hit"
                  onClick={() => {
                    ui.getState().go("chat");
                    void chat.getState().open(hit.conversationId);
                  }}
                >
                  <strong>{hit.title}</strong>
                  <span className="snippet">{hit.snippet}</span>
                </button>
              </li>
            ))}
          </ul>
        )
      ) : loaded && conversations.length === 0 ? (
        <p className="muted small">No conversations yet. They appear here once you send a message.</p>
      ) : (
        groups.map((group) => (
          <section key={group.label} className="day-group" aria-label={group.label}>
            <h2 className="day-label">{group.label}</h2>
            <ul>
              {group.items.map((conversation) => (
                <ConversationRow
                  key={conversation.id}
                  conversation={conversation}
                  current={conversation.id === currentId}
                  onRename={() => setRenaming(conversation)}
                  onDelete={() => setDeleting(conversation)}
                />
              ))}
            </ul>
          </section>
        ))
      )}
      <TextDialog
        open={renaming !== null}
        onOpenChange={(open) => !open && setRenaming(null)}
        title="Rename conversation"
        label="Title"
        initial={renaming?.title ?? ""}
        submit="Rename"
        onSubmit={(title) => {
          if (renaming) void store.getState().rename(renaming.id, title);
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => !open && setDeleting(null)}
        title="Delete this conversation?"
        description={`“${deleting?.title ?? ""}” and every version of its messages will be deleted. This cannot be undone.`}
        confirm="Delete"
        onConfirm={async () => {
          if (!deleting) return;
          const id = deleting.id;
          setDeleting(null);
          if ((await store.getState().remove(id)) && chat.getState().conversationId === id)
            chat.getState().newChat();
        }}
      />
    </nav>
  );
}
