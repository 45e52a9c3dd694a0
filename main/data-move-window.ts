/**
 * While a move of the data folder runs at the start, before the main window (whose page needs the
 * engine, which needs the profile), a small window says what is happening and how far it is, so a
 * restart that copies gigabytes to another disk does not look like an app that failed to open. It
 * cannot be closed meanwhile: quitting mid-move is safe (the next start finishes or undoes it) but
 * would only make the wait longer.
 */
import { BrowserWindow } from "electron";
import type { DataMoveProgress } from "../engine/profile/data-move.ts";

export interface MoveProgressView {
  update(progress: DataMoveProgress): void;
  close(): void;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

/** What the window says, in words, for a moment of the move. */
export function progressLine(progress: DataMoveProgress | null): string {
  if (!progress) return "Getting ready…";
  const amount = `${formatBytes(progress.doneBytes)} of ${formatBytes(progress.totalBytes)}`;
  switch (progress.phase) {
    case "moving":
      return "Moving the files (the same disk: a moment)…";
    case "copying":
      return `Copying ${amount}…`;
    case "checking":
      return `Checking the copy: ${amount}…`;
    case "finishing":
      return "Switching to the new folder and deleting the old copy…";
  }
}

/** The window's page: static text, no script (the window runs none). */
export function progressPage(to: string, progress: DataMoveProgress | null): string {
  const fraction =
    progress && progress.totalBytes > 0 && (progress.phase === "copying" || progress.phase === "checking")
      ? Math.min(1, progress.doneBytes / progress.totalBytes)
      : null;
  const bar =
    fraction === null
      ? `<progress aria-label="Moving the data folder"></progress>`
      : `<progress aria-label="Moving the data folder" max="1" value="${fraction.toFixed(3)}"></progress>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Moving the data folder</title>
<style>body{font:14px system-ui,sans-serif;margin:20px;color:#222;background:#fafafa}
@media (prefers-color-scheme:dark){body{color:#eee;background:#222}}code{word-break:break-all}
progress{width:100%;margin:12px 0 4px}</style></head><body>
<p>Elmwood is moving its data folder to <code>${escapeHtml(to)}</code>, as you asked in Settings. It opens when the move is done.</p>
${bar}<p role="status">${escapeHtml(progressLine(progress))}</p></body></html>`;
}

export function openMoveProgressWindow(to: string): MoveProgressView {
  const window = new BrowserWindow({
    width: 480,
    height: 200,
    resizable: false,
    maximizable: false,
    minimizable: false,
    fullscreenable: false,
    title: "Elmwood: moving the data folder",
    webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false, javascript: false },
  });
  let moving = true;
  window.on("close", (event) => {
    if (moving) event.preventDefault();
  });
  const show = (progress: DataMoveProgress | null) => {
    if (window.isDestroyed()) return;
    void window
      .loadURL(`data:text/html;charset=utf-8,${encodeURIComponent(progressPage(to, progress))}`)
      .catch(() => undefined);
  };
  show(null);
  let shown = 0;
  return {
    update(progress) {
      if (window.isDestroyed()) return;
      const fraction = progress.totalBytes > 0 ? progress.doneBytes / progress.totalBytes : 2;
      window.setProgressBar(fraction > 1 ? 2 : fraction);
      // Loading a page is not free: a new one at most once a second, the bar in the taskbar at once.
      if (Date.now() - shown < 1000 && progress.phase !== "finishing") return;
      shown = Date.now();
      show(progress);
    },
    close() {
      moving = false;
      if (!window.isDestroyed()) window.close();
    },
  };
}
