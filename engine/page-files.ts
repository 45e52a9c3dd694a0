/**
 * Which file of the built page (out/renderer) a URL path names, and the type it is served as. Both
 * doors that serve the page use this: the loopback server in browser mode (engine/server/static-files.ts)
 * and the desktop app's app:// scheme (main/app-protocol.ts), so a path cannot leave the folder in one
 * and not the other.
 */
import { extname, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

/** The Content-Type a page file is served with; unknown kinds are bytes, never sniffed into scripts. */
export function pageContentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

export type PageFile =
  /** `path` is inside the folder (the folder itself for "/"); `route` when it has no extension. */
  | { ok: true; path: string; isRoot: boolean; route: boolean }
  | { ok: false; reason: "malformed" | "refused" };

/**
 * The absolute path under `root` that the URL path `pathname` (still percent-encoded, as in a URL)
 * names. A malformed escape, a NUL byte, or anything that resolves outside the folder (`..`, an encoded
 * `%2e%2e%2f`, an encoded backslash on Windows, an absolute path) is refused.
 */
export function resolvePageFile(root: string, pathname: string): PageFile {
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (relative.includes("\0")) return { ok: false, reason: "refused" };
  const base = resolve(root);
  const target = resolve(base, `.${relative}`);
  const isRoot = target === base;
  if (!isRoot && !target.startsWith(base + sep)) return { ok: false, reason: "refused" };
  return { ok: true, path: target, isRoot, route: extname(relative) === "" };
}
