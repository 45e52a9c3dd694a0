/**
 * Lists the files under a folder for indexing, following symbolic links but never looping: a link
 * to a folder already on the current path, or one that points at itself, is reported rather than
 * followed. Unreadable folders and broken links are reported too, each with a reason.
 */
import { type Dirent, promises as fs } from "node:fs";
import { join } from "node:path";
import { describeFileError } from "./prepare.ts";

export interface WalkedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface WalkProblem {
  path: string;
  reason: string;
}

export interface WalkResult {
  files: WalkedFile[];
  problems: WalkProblem[];
}

/** Folders whose contents are never documents a person wrote. */
const SKIPPED_FOLDERS = new Set([".git", ".hg", ".svn", "node_modules", "__pycache__", ".cache", ".Trash"]);

export function isSkippedFolderName(name: string): boolean {
  return SKIPPED_FOLDERS.has(name);
}

/**
 * Walks `root`. Throws only if `root` itself cannot be listed (gone, not a folder, no permission);
 * everything below becomes a file or a problem. `signal` stops the walk between folders.
 */
export async function walkFolder(root: string, signal?: AbortSignal): Promise<WalkResult> {
  const files: WalkedFile[] = [];
  const problems: WalkProblem[] = [];
  const rootReal = await fs.realpath(root);
  // Each real folder is listed once, however many links lead to it.
  const visited = new Set<string>([rootReal]);
  await visit(root, [rootReal], true);
  return { files, problems };

  async function visit(dir: string, ancestors: string[], isRoot: boolean): Promise<void> {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isRoot) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      // A folder removed while we walk simply has nothing left to index.
      if (code !== "ENOENT" && code !== "ENOTDIR")
        problems.push({ path: dir, reason: describeFileError(error) });
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (SKIPPED_FOLDERS.has(entry.name)) continue;
        const real = join(ancestors[ancestors.length - 1], entry.name);
        if (visited.has(real)) continue;
        visited.add(real);
        await visit(path, [...ancestors, real], false);
      } else if (entry.isFile()) {
        await addFile(path);
      } else if (entry.isSymbolicLink()) {
        await followLink(path, ancestors);
      }
    }
  }

  async function addFile(path: string): Promise<void> {
    try {
      const info = await fs.stat(path);
      files.push({ path, size: info.size, mtimeMs: Math.floor(info.mtimeMs) });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") problems.push({ path, reason: describeFileError(error) });
    }
  }

  async function followLink(path: string, ancestors: string[]): Promise<void> {
    let target: string;
    let info: Awaited<ReturnType<typeof fs.stat>>;
    try {
      target = await fs.realpath(path);
      info = await fs.stat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({ path, reason: code === "ENOENT" ? "broken symbolic link" : describeFileError(error) });
      return;
    }
    if (info.isFile()) {
      files.push({ path, size: info.size, mtimeMs: Math.floor(info.mtimeMs) });
    } else if (info.isDirectory()) {
      if (ancestors.includes(target)) {
        problems.push({ path, reason: "symbolic link loop (points to a folder that contains it)" });
        return;
      }
      if (visited.has(target)) {
        problems.push({ path, reason: "links to a folder that is already indexed through another path" });
        return;
      }
      visited.add(target);
      await visit(path, [...ancestors, target], false);
    }
  }
}

/** Like walkFolder, but a root that is a file (one attached to a chat) is that file alone. */
export async function walkRoot(root: string, signal?: AbortSignal): Promise<WalkResult> {
  const info = await fs.stat(root);
  if (info.isFile())
    return { files: [{ path: root, size: info.size, mtimeMs: Math.floor(info.mtimeMs) }], problems: [] };
  return walkFolder(root, signal);
}
