/**
 * What a conversation can draw on: a folder or a file, by its real path. One the index does not hold
 * yet is added to it (a folder as a folder; a file on its own), so its passages are found by the same
 * search, words and meaning, as everything else, and stay in step when it changes.
 */
import { realpath, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { DocumentIndexer } from "../documents/indexer.ts";
import { ElmwoodError } from "../errors.ts";

export async function attachPath(
  indexer: DocumentIndexer,
  path: string,
): Promise<{ path: string; kind: "folder" | "file" }> {
  const absolute = resolve(path);
  let real: string;
  let isFolder: boolean;
  try {
    real = await realpath(absolute);
    const info = await stat(real);
    if (!info.isDirectory() && !info.isFile())
      throw Object.assign(new Error("special file"), { code: "ESPECIAL" });
    isFolder = info.isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESPECIAL") {
      throw new ElmwoodError(
        "BAD_INPUT",
        `${absolute} is neither a folder nor a file.`,
        "Attach a document or a folder.",
      );
    }
    throw new ElmwoodError(
      "NOT_FOUND",
      `There is no file or folder at ${absolute}.`,
      "Check the path, or drop the document on the chat.",
      { cause: error },
    );
  }
  if (indexer.store.folderContaining(real)) return { path: real, kind: isFolder ? "folder" : "file" };
  if (isFolder) await indexer.addFolder(real);
  else await indexer.addFile(real);
  return { path: real, kind: isFolder ? "folder" : "file" };
}
