/**
 * The packaged app's page is served from its own scheme, app://elmwood/, rather than file://, as
 * Electron's security checklist advises: a file: page shares its origin with every file on the disk,
 * while app://elmwood is an origin of its own whose only files are the renderer build folder.
 *
 * The scheme is registered as standard (so URLs have an origin, relative links and 'self' in the CSP
 * work) and secure (a secure context, like https), before the app is ready, which Electron requires;
 * the handler is installed once it is ready, before the window loads the page.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Protocol } from "electron";
import { pageContentType, resolvePageFile } from "../engine/page-files.ts";
import { PAGE_CSP } from "../engine/page-policy.ts";

export const APP_SCHEME = "app";
/** The one host the scheme serves; any other is refused, so the origin is always app://elmwood. */
export const APP_HOST = "elmwood";
export const APP_INDEX_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** Must run before app's `ready` event: Electron ignores privileges registered later. */
export function registerAppScheme(protocol: Pick<Protocol, "registerSchemesAsPrivileged">): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      // Nothing that loosens the page: no bypassCSP, no service workers, no CORS for other origins.
      privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
    },
  ]);
}

/** Serves app://elmwood/<path> from `root`, the renderer build folder. Run once the app is ready. */
export function installAppProtocol(protocol: Pick<Protocol, "handle">, root: string): void {
  protocol.handle(APP_SCHEME, appRequestHandler(root));
}

function refusal(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff", ...extra },
  });
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The handler behind the scheme. Paths resolve inside `root` only (engine/page-files.ts refuses `..`,
 * encoded or not, and NUL bytes); a path without an extension is a route of the app and gets
 * index.html; files carry their MIME type and the page's CSP.
 */
export function appRequestHandler(root: string): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return refusal(405, "Method not allowed.", { Allow: "GET, HEAD" });
    }
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return refusal(400, "Bad address.");
    }
    if (url.protocol !== `${APP_SCHEME}:` || url.hostname !== APP_HOST) return refusal(404, "Not found.");
    const named = resolvePageFile(root, url.pathname);
    if (!named.ok) return refusal(named.reason === "malformed" ? 400 : 404, "Not found.");

    let path = named.isRoot ? join(root, "index.html") : named.path;
    let size = await fileSize(path);
    if (size === undefined && named.route) {
      path = join(root, "index.html");
      size = await fileSize(path);
    }
    if (size === undefined) return refusal(404, "Not found.");

    const headers = {
      "Content-Type": pageContentType(path),
      "Content-Length": String(size),
      "Content-Security-Policy": PAGE_CSP,
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "no-cache",
    };
    if (request.method === "HEAD") return new Response(null, { status: 200, headers });
    return new Response(await readFile(path), { status: 200, headers });
  };
}
