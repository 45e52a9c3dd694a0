/** Short notices ("Copied", "Model installed"): queued here, shown by Radix's toast viewport. */
import { createStore, type StoreApi } from "zustand/vanilla";

export interface Toast {
  id: number;
  title: string;
  description?: string;
  tone: "info" | "error";
}

export interface ToastStore {
  toasts: Toast[];
  show(toast: Omit<Toast, "id">): void;
  dismiss(id: number): void;
}

export function createToastStore(): StoreApi<ToastStore> {
  let next = 1;
  return createStore<ToastStore>()((set) => ({
    toasts: [],
    show: (toast) => set((s) => ({ toasts: [...s.toasts.slice(-3), { ...toast, id: next++ }] })),
    dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  }));
}
