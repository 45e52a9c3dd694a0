/** Where the person is in the app, and the panels they opened. */
import { createStore, type StoreApi } from "zustand/vanilla";

export type Place = "chat" | "documents" | "search" | "models" | "settings";

export interface UiStore {
  place: Place;
  sidebarCollapsed: boolean;
  drawerOpen: boolean;
  /** Bumped to ask the chat input to take focus (after New chat, after opening a conversation). */
  focusComposer: number;
  /** A card of the place to bring into view once it opens ("engines" on Settings), then cleared. */
  section: string | null;
  go(place: Place, section?: string): void;
  sectionShown(): void;
  toggleSidebar(): void;
  setDrawerOpen(open: boolean): void;
  requestComposerFocus(): void;
}

export function createUiStore(): StoreApi<UiStore> {
  return createStore<UiStore>()((set) => ({
    place: "chat",
    sidebarCollapsed: false,
    drawerOpen: false,
    focusComposer: 0,
    section: null,
    go: (place, section) => set({ place, section: section ?? null }),
    sectionShown: () => set({ section: null }),
    toggleSidebar: () => set((s) => ({ sidebarCollapsed: !s.sidebarCollapsed })),
    setDrawerOpen: (drawerOpen) => set({ drawerOpen }),
    requestComposerFocus: () => set((s) => ({ focusComposer: s.focusComposer + 1 })),
  }));
}
