/**
 * What a dropped file or folder can be used as. The desktop app knows its path; a browser page only
 * gets the bytes of a file (never a folder's path), which is enough to summarize text.
 */
import type { DesktopExtras } from "../api/desktop-transport.ts";

/** Text files small enough to read in the page when the window cannot name the file's path. */
const READABLE = /\.(txt|md|markdown|csv|json|log|html?|xml|[cm]?[jt]sx?|py|rs|go|java|c|cpp|h)$/i;
const MAX_TEXT_BYTES = 5_000_000;

export type Dropped =
  | { kind: "folder"; path: string }
  | { kind: "file"; source: { path: string } | { text: string; name: string } }
  | { kind: "unusable"; reason: string };

export async function readDropped(transfer: DataTransfer, extras: DesktopExtras): Promise<Dropped | null> {
  const file = transfer.files[0];
  if (!file) return null;
  const isFolder = transfer.items[0]?.webkitGetAsEntry?.()?.isDirectory ?? false;
  const path = extras.pathForFile?.(file) || null;
  if (isFolder) {
    return path
      ? { kind: "folder", path }
      : {
          kind: "unusable",
          reason: `This page cannot see where ${file.name} is. Type the folder's path instead.`,
        };
  }
  if (path) return { kind: "file", source: { path } };
  if (READABLE.test(file.name) && file.size < MAX_TEXT_BYTES) {
    return { kind: "file", source: { text: await file.text(), name: file.name } };
  }
  return { kind: "unusable", reason: `${file.name} cannot be read from this page. Type its path instead.` };
}
