/** The toast queue, shown through Radix's accessible toast viewport. */
import * as Toast from "@radix-ui/react-toast";
import { useStores, useToasts } from "../stores/stores.tsx";

export function Toasts() {
  const { toasts: store } = useStores();
  const toasts = useToasts((s) => s.toasts);
  return (
    <>
      {toasts.map((toast) => (
        <Toast.Root
          key={toast.id}
          className={`toast tone-${toast.tone}`}
          duration={toast.tone === "error" ? 8000 : 2500}
          onOpenChange={(open) => !open && store.getState().dismiss(toast.id)}
        >
          <Toast.Title className="toast-title">{toast.title}</Toast.Title>
          {toast.description ? <Toast.Description>{toast.description}</Toast.Description> : null}
        </Toast.Root>
      ))}
      <Toast.Viewport className="toast-viewport" label="Notifications ({hotkey})" />
    </>
  );
}
