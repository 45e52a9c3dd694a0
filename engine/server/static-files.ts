/**
 * Browser mode's page: the renderer that electron-vite builds into out/renderer, served read-only
 * with the same content security policy as the desktop window. Paths cannot leave that folder.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { PAGE_CSP } from "../page-policy.ts";
import { baseHeaders } from "./http-io.ts";

/** out/renderer beside the sources (engine/server -> repository root). */
export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL("../../out/renderer/", import.meta.url));

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

function pageHeaders(type: string): Record<string, string> {
  return {
    ...baseHeaders(),
    "Content-Type": type,
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
}

/** A small HTML page for a person who opened the URL (a missing build, a missing token). */
export function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
  const safe = (s: string) =>
    s.replace(
      /[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
    );
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${safe(title)}</title></head><body><h1>${safe(title)}</h1><p>${safe(body)}</p></body></html>`;
  res.writeHead(status, {
    ...pageHeaders("text/html; charset=utf-8"),
    "Content-Length": String(Buffer.byteLength(html)),
  });
  res.end(html);
}

async function fileAt(path: string): Promise<{ path: string; size: number } | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? { path, size: info.size } : undefined;
  } catch {
    return undefined;
  }
}

/** Serves GET/HEAD `pathname` from `root`; unknown paths without an extension get the app (SPA routes). */
export async function serveRenderer(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  root: string,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { ...baseHeaders(), Allow: "GET, HEAD" });
    res.end();
    return;
  }
  const base = resolve(root);
  const index = await fileAt(resolve(base, "index.html"));
  if (!index) {
    sendPage(
      res,
      503,
      "Elmwood's page has not been built",
      "Run `npm run build` in the Elmwood folder, then reload this page.",
    );
    return;
  }
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    sendPage(res, 400, "Bad address", "The address has a malformed escape.");
    return;
  }
  const target = resolve(base, `.${relative}`);
  const inside = target === base || target.startsWith(base + sep);
  if (relative.includes("\0") || !inside) {
    sendPage(res, 404, "Not found", "There is no such file.");
    return;
  }
  let file = target === base ? index : await fileAt(target);
  if (!file && extname(relative) === "") file = index;
  if (!file) {
    sendPage(res, 404, "Not found", "There is no such file.");
    return;
  }
  const type = TYPES[extname(file.path).toLowerCase()] ?? "application/octet-stream";
  res.writeHead(200, {
    ...pageHeaders(type),
    "Content-Length": String(file.size),
    "Cache-Control": "no-cache",
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(file.path);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}
