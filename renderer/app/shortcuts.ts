/** The app-wide keys: Ctrl/Cmd+N new chat, Ctrl/Cmd+B sidebar, Ctrl/Cmd+, settings, Escape stops a reply. */
import type { Stores } from "../stores/stores.tsx";

export function handleShortcut(event: KeyboardEvent, stores: Stores): boolean {
  const mod = event.ctrlKey || event.metaKey;
  if (mod && !event.shiftKey && !event.altKey) {
    const key = event.key.toLowerCase();
    if (key === "n") {
      stores.chat.getState().newChat();
      stores.ui.getState().go("chat");
      stores.ui.getState().requestComposerFocus();
      return true;
    }
    if (key === "b") {
      stores.ui.getState().toggleSidebar();
      return true;
    }
    if (key === ",") {
      stores.ui.getState().go("settings");
      return true;
    }
  }
  if (event.key === "Escape" && !event.defaultPrevented && stores.chat.getState().streaming) {
    // A dialog or menu open on top takes Escape for itself.
    if (document.querySelector('dialog[open], [role="dialog"], [role="menu"]')) return false;
    void stores.chat.getState().stop();
    return true;
  }
  return false;
}
