/**
 * Browser mode's page: the renderer that electron-vite builds into out/renderer, served read-only
 * with the same content security policy as the desktop window. Paths cannot leave that folder.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pageContentType, resolvePageFile } from "../page-files.ts";
import { PAGE_CSP } from "../page-policy.ts";
import { baseHeaders } from "./http-io.ts";

/** out/renderer beside the sources (engine/server -> repository root). */
export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL("../../out/renderer/", import.meta.url));

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
  const named = resolvePageFile(base, pathname);
  if (!named.ok) {
    if (named.reason === "malformed")
      sendPage(res, 400, "Bad address", "The address has a malformed escape.");
    else sendPage(res, 404, "Not found", "There is no such file.");
    return;
  }
  let file = named.isRoot ? index : await fileAt(named.path);
  if (!file && named.route) file = index;
  if (!file) {
    sendPage(res, 404, "Not found", "There is no such file.");
    return;
  }
  const type = pageContentType(file.path);
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
