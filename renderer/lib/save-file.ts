/**
 * Saves a file the engine made (an exported conversation): through the desktop app's save dialog,
 * or in a browser as a download, which the browser puts in its downloads folder (or asks where).
 */
import type { ConversationFile } from "../../engine/api/contract.ts";
import type { DesktopExtras } from "../api/desktop-transport.ts";

/** The object URL must outlive the click that starts the download; a minute is plenty. */
const KEEP_URL_MS = 60_000;

/** Whether the file was saved: false when the person cancelled the desktop dialog. */
export async function saveFile(
  file: ConversationFile,
  extras: DesktopExtras,
  doc: Document = document,
): Promise<boolean> {
  if (extras.saveFile) return (await extras.saveFile(file)).saved;
  const blob = new Blob([file.content], { type: `${file.mimeType};charset=utf-8` });
  const url = URL.createObjectURL(blob);
  const link = doc.createElement("a");
  link.href = url;
  link.download = file.filename;
  link.hidden = true;
  doc.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), KEEP_URL_MS);
  return true;
}
