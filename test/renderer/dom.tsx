/** Mounting views in happy-dom without a testing library: render inside act, type, press keys. */
import { act, type ReactNode } from "react";
import { createRoot, type Root } from "react-dom/client";
import type { DesktopExtras } from "../../renderer/api/desktop-transport.ts";
import { createStores, type Stores, StoresProvider } from "../../renderer/stores/stores.tsx";
import type { FakeApi } from "./fake-api.ts";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface Mounted {
  container: HTMLElement;
  stores: Stores;
  unmount(): void;
}

/** `extras` plays the desktop app's preload (a folder picker, restarting); none is browser mode. */
export async function mount(api: FakeApi, view: ReactNode, extras: DesktopExtras = {}): Promise<Mounted> {
  const container = document.createElement("div");
  document.body.append(container);
  const stores = createStores(api.client, extras);
  let root: Root | undefined;
  await act(async () => {
    root = createRoot(container);
    root.render(<StoresProvider stores={stores}>{view}</StoresProvider>);
  });
  return {
    container,
    stores,
    unmount() {
      act(() => root?.unmount());
      stores.dispose();
      container.remove();
    },
  };
}

/** Sets a text field's value the way typing does, so React sees the change. */
export async function type(field: HTMLTextAreaElement | HTMLInputElement, text: string): Promise<void> {
  const prototype = Object.getPrototypeOf(field) as object;
  const setter = Object.getOwnPropertyDescriptor(prototype, "value")?.set;
  await act(async () => {
    setter?.call(field, text);
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

export async function press(target: Element, key: string, options: KeyboardEventInit = {}): Promise<void> {
  await act(async () => {
    target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...options }));
  });
}

export async function click(target: Element): Promise<void> {
  await act(async () => {
    (target as HTMLElement).click();
  });
}

/** The element with this accessible name given by aria-label. */
export function byLabel<T extends Element = HTMLElement>(container: Element, label: string): T {
  const found = container.querySelector(`[aria-label="${label}"]`);
  if (!found) throw new Error(`nothing labelled "${label}"`);
  return found as T;
}

/** The element with this role whose text is `name` (buttons named by their words). */
export function byRole<T extends Element = HTMLElement>(container: Element, role: "button", name: string): T {
  const found = [...container.querySelectorAll(role)].find(
    (element) => (element.getAttribute("aria-label") ?? element.textContent?.trim()) === name,
  );
  if (!found) throw new Error(`no ${role} named "${name}"`);
  return found as unknown as T;
}

/** The form control inside the <label> whose text begins with `text`. */
export function byLabelText<T extends Element = HTMLInputElement>(container: Element, text: string): T {
  const label = [...container.querySelectorAll("label")].find((l) => l.textContent?.trim().startsWith(text));
  const control = label?.querySelector("input, textarea, select");
  if (!control) throw new Error(`no field labelled "${text}"`);
  return control as unknown as T;
}
