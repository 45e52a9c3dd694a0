/**
 * One Elmwood at a time: a second launch hands over to the first and quits, so two processes never
 * share one profile database or load the same model twice.
 */
import type { BrowserWindow } from "electron";
import { app } from "electron";

/**
 * Claims the lock. Returns false in a second instance, which should quit at once; in the first, later
 * launches bring `window()` to the front.
 */
export function claimSingleInstance(window: () => BrowserWindow | null): boolean {
  if (!app.requestSingleInstanceLock()) return false;
  app.on("second-instance", () => {
    const target = window();
    if (!target || target.isDestroyed()) return;
    if (target.isMinimized()) target.restore();
    target.show();
    target.focus();
  });
  return true;
}
