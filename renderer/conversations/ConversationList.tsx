/**
 * The sidebar's conversations: search as you type with the matched words marked, grouped by day;
 * rename, export (Markdown or JSON) and delete from a menu; import a JSON export from a file.
 */
import * as DropdownMenu from "@radix-ui/react-dropdown-menu";
import { useEffect, useMemo, useRef, useState } from "react";
import type { ConversationSummary, ExportFormat } from "../../engine/api/contract.ts";
import { ConfirmDialog, TextDialog } from "../components/Dialogs.tsx";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { Highlighted } from "../components/Highlighted.tsx";
import { IconButton } from "../components/IconButton.tsx";
import { ImportIcon, MoreIcon } from "../components/icons.tsx";
import { saveFile } from "../lib/save-file.ts";
import { useChat, useConversations, useStores } from "../stores/stores.tsx";
import { groupByDay } from "./group-by-day.ts";

function ConversationRow({
  conversation,
  current,
  onRename,
  onExport,
  onDelete,
}: {
  conversation: ConversationSummary;
  current: boolean;
  onRename(): void;
  onExport(format: ExportFormat): void;
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
          <DropdownMenu.Item className="menu-item" onSelect={() => onExport("md")}>
            Export as Markdown
          </DropdownMenu.Item>
          <DropdownMenu.Item className="menu-item" onSelect={() => onExport("json")}>
            Export as JSON
          </DropdownMenu.Item>
          <DropdownMenu.Separator className="menu-separator" />
          <DropdownMenu.Item className="menu-item danger" onSelect={onDelete}>
            Delete…
          </DropdownMenu.Item>
        </DropdownMenu.Content>
      </DropdownMenu.Root>
    </li>
  );
}

export function ConversationList() {
  const { conversations: store, chat, ui, toasts, extras } = useStores();
  const conversations = useConversations((s) => s.conversations);
  const hits = useConversations((s) => s.hits);
  const loaded = useConversations((s) => s.loaded);
  const error = useConversations((s) => s.error);
  const currentId = useChat((s) => s.conversationId);
  const [query, setQuery] = useState("");
  const [renaming, setRenaming] = useState<ConversationSummary | null>(null);
  const [deleting, setDeleting] = useState<ConversationSummary | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  // Search as the person types, once they pause.
  useEffect(() => {
    const timer = setTimeout(() => void store.getState().search(query), 150);
    return () => clearTimeout(timer);
  }, [query, store]);

  const groups = useMemo(() => groupByDay(conversations, Date.now()), [conversations]);

  const exportAs = async (conversation: ConversationSummary, format: ExportFormat) => {
    const file = await store.getState().exportFile(conversation.id, format);
    if (!file) return;
    try {
      if (await saveFile(file, extras))
        toasts.getState().show({ title: `Exported ${file.filename}`, tone: "info" });
    } catch (failure) {
      const description = failure instanceof Error ? failure.message : String(failure);
      toasts.getState().show({ title: "The export could not be saved", description, tone: "error" });
    }
  };

  const importChosen = async (file: File | undefined) => {
    if (!file) return;
    const imported = await store.getState().importFile(await file.text());
    if (!imported) return;
    ui.getState().go("chat");
    await chat.getState().open(imported.conversation.id);
    toasts.getState().show({
      title: `Imported “${imported.conversation.title}”`,
      description: imported.notes.join(" ") || undefined,
      tone: "info",
    });
  };

  return (
    <nav className="conversation-list" aria-label="Conversations">
      <div className="row sidebar-search-row">
        <input
          type="search"
          className="sidebar-search"
          aria-label="Search conversations"
          placeholder="Search conversations"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <IconButton
          label="Import a conversation (JSON)"
          icon={<ImportIcon />}
          onClick={() => fileInput.current?.click()}
        />
        <input
          ref={fileInput}
          type="file"
          accept=".json,application/json"
          hidden
          aria-label="Conversation file to import"
          onChange={(e) => {
            const chosen = e.target.files?.[0];
            // The same file chosen again must fire again.
            e.target.value = "";
            void importChosen(chosen);
          }}
        />
      </div>
      {error ? <ErrorNotice error={error} onDismiss={() => store.getState().dismissError()} /> : null}
      {query.trim() && hits ? (
        hits.length === 0 ? (
          <p className="muted small">No conversation mentions “{query.trim()}”.</p>
        ) : (
          <ul className="hits" aria-label="Conversations found">
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
                  <strong>
                    <Highlighted text={hit.title} ranges={hit.titleHighlights} />
                  </strong>
                  {hit.snippet ? (
                    <span className="snippet">
                      <Highlighted text={hit.snippet} ranges={hit.highlights} />
                    </span>
                  ) : null}
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
                  onExport={(format) => void exportAs(conversation, format)}
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
