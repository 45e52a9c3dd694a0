/**
 * The desktop app's "save as": the renderer hands over a file the engine made (an exported
 * conversation), main asks where with the system's save dialog and writes it there. The request
 * is checked here (the renderer is a trust boundary): only the app's own page, a plain file name,
 * a bounded size. The file is written beside its target and renamed into place, so a failed write
 * never leaves half a file where a good one was.
 */
import { randomUUID } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import type { BrowserWindow, Dialog, IpcMain, IpcMainInvokeEvent } from "electron";
import { z } from "zod";
import { IPC_SAVE_FILE_CHANNEL } from "../engine/api/names.ts";

const SaveRequest = z.strictObject({
  filename: z
    .string()
    .min(1)
    .max(255)
    .refine((name) => basename(name) === name && !/[\\/]/.test(name), "must be a file name, not a path"),
  mimeType: z.string().max(100),
  content: z.string().max(64 * 1024 * 1024),
});

/** What the preload receives: saved, or not (cancelled), or why it failed. */
export type SaveAnswer = { saved: true; path: string } | { saved: false; error?: string };

export interface SaveFileOptions {
  isTrusted(event: IpcMainInvokeEvent): boolean;
  /** The window the dialog belongs to. */
  window(): BrowserWindow | null;
  dialog: Pick<Dialog, "showSaveDialog">;
  /** Where the dialog starts (the Documents folder). */
  defaultFolder(): string;
}

const FILTERS: Record<string, { name: string; extensions: string[] }> = {
  ".md": { name: "Markdown", extensions: ["md"] },
  ".json": { name: "JSON", extensions: ["json"] },
};

/** Writes `content` to `path` through a temporary sibling renamed into place. */
export async function writeFileAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await writeFile(temporary, content, "utf8");
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function saveFileAnswer(
  event: IpcMainInvokeEvent,
  input: unknown,
  options: SaveFileOptions,
): Promise<SaveAnswer> {
  if (!options.isTrusted(event)) return { saved: false, error: "This page may not save files." };
  const request = SaveRequest.safeParse(input);
  if (!request.success) {
    const issue = request.error.issues[0];
    return {
      saved: false,
      error: `The file to save is not valid: ${issue.path.join(".")}: ${issue.message}.`,
    };
  }
  const { filename, content } = request.data;
  const filter = FILTERS[extname(filename).toLowerCase()];
  const window = options.window();
  const dialogOptions = {
    title: "Export conversation",
    defaultPath: join(options.defaultFolder(), filename),
    filters: filter ? [filter, { name: "All files", extensions: ["*"] }] : [],
  };
  const chosen = window
    ? await options.dialog.showSaveDialog(window, dialogOptions)
    : await options.dialog.showSaveDialog(dialogOptions);
  if (chosen.canceled || !chosen.filePath) return { saved: false };
  try {
    await writeFileAtomically(chosen.filePath, content);
    return { saved: true, path: chosen.filePath };
  } catch (error) {
    return { saved: false, error: `Could not write ${chosen.filePath}: ${(error as Error).message}` };
  }
}

/** Binds the save dialog's channel; returns the function that unbinds it. */
export function bindSaveFile(ipcMain: IpcMain, options: SaveFileOptions): () => void {
  ipcMain.handle(IPC_SAVE_FILE_CHANNEL, (event, input: unknown) => saveFileAnswer(event, input, options));
  return () => ipcMain.removeHandler(IPC_SAVE_FILE_CHANNEL);
}
