/** New chat, the conversations, and the places: Chat, Documents, Search, Models, Settings. Collapsible. */
import type { ReactNode } from "react";
import { IconButton } from "../components/IconButton.tsx";
import {
  ChatIcon,
  ChipIcon,
  DocumentIcon,
  GearIcon,
  PlusIcon,
  SearchIcon,
  SidebarIcon,
} from "../components/icons.tsx";
import { ConversationList } from "../conversations/ConversationList.tsx";
import { useStores, useUi } from "../stores/stores.tsx";
import type { Place } from "../stores/ui-store.ts";

const PLACES: { place: Place; label: string; icon: ReactNode }[] = [
  { place: "chat", label: "Chat", icon: <ChatIcon /> },
  { place: "documents", label: "Documents", icon: <DocumentIcon /> },
  { place: "search", label: "Search", icon: <SearchIcon /> },
  { place: "models", label: "Models", icon: <ChipIcon /> },
  { place: "settings", label: "Settings", icon: <GearIcon /> },
];

export function newChat(stores: ReturnType<typeof useStores>) {
  stores.chat.getState().newChat();
  stores.ui.getState().go("chat");
  stores.ui.getState().requestComposerFocus();
}

export function Sidebar() {
  const stores = useStores();
  const collapsed = useUi((s) => s.sidebarCollapsed);
  const place = useUi((s) => s.place);
  const isMac = typeof navigator !== "undefined" && /Mac/.test(navigator.platform);
  return (
    <aside className={`sidebar${collapsed ? " collapsed" : ""}`} aria-label="Sidebar">
      <div className="sidebar-top">
        <IconButton
          label={collapsed ? "Show sidebar" : "Hide sidebar"}
          icon={<SidebarIcon />}
          aria-expanded={!collapsed}
          onClick={() => stores.ui.getState().toggleSidebar()}
        />
        <IconButton
          label={`New chat (${isMac ? "⌘" : "Ctrl+"}N)`}
          icon={<PlusIcon />}
          text={collapsed ? undefined : "New chat"}
          className="new-chat"
          onClick={() => newChat(stores)}
        />
      </div>
      {collapsed ? null : <ConversationList />}
      <nav className="places" aria-label="Places">
        <ul>
          {PLACES.map((item) => (
            <li key={item.place}>
              <button
                type="button"
                className={`place${place === item.place ? " current" : ""}`}
                aria-current={place === item.place ? "page" : undefined}
                aria-label={item.label}
                onClick={() => stores.ui.getState().go(item.place)}
              >
                {item.icon}
                {collapsed ? null : <span>{item.label}</span>}
              </button>
            </li>
          ))}
        </ul>
      </nav>
    </aside>
  );
}
