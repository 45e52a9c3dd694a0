/**
 * Every security decision for the desktop shell, in one place so it can be read and tested as a whole.
 * Electron's security checklist is the floor: isolated, sandboxed renderers with no Node, a strict CSP on
 * every response, no navigation away from the app, no new windows, and no permissions granted.
 */
import type { Session, WebContents, WebPreferences } from "electron";
import { shell } from "electron";
import { PAGE_CSP } from "../engine/page-policy.ts";
import { APP_SCHEME } from "./app-protocol.ts";

/** The page's policy, shared with browser mode. */
export const CONTENT_SECURITY_POLICY = PAGE_CSP;

/** The renderer's webPreferences: no Node, its own JavaScript world, the OS sandbox. */
export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
  };
}

type ResponseHeaders = Record<string, string | string[]>;

/**
 * The response headers with our policy added. Any policy the response already carried is kept beside
 * ours: browsers enforce every policy present, so keeping theirs can only make the page stricter.
 */
export function withContentSecurityPolicy(headers: ResponseHeaders | undefined): ResponseHeaders {
  const result: ResponseHeaders = {};
  const policies: string[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === "content-security-policy") policies.push(...[value].flat());
    else result[name] = value;
  }
  result["Content-Security-Policy"] = [...policies, CONTENT_SECURITY_POLICY];
  return result;
}

/** Adds the policy to every response the session receives, and refuses every permission request. */
export function secureSession(session: Session): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders) });
  });
  // The shell needs no camera, microphone, notifications or geolocation; the chat UI will ask for
  // what it needs when it exists.
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/**
 * Whether `target` is the app's own page. Packaged, the app is served from app://elmwood/ (see
 * app-protocol.ts), whose files are the renderer build only, so any path on that host is ours. In
 * development it is served over http by Vite, so any path on that origin is ours. A file: page (no
 * longer used) would be one file, so only that file (any hash or query) would count.
 */
export function isAppUrl(target: string, appUrl: string): boolean {
  const to = parseUrl(target);
  const app = parseUrl(appUrl);
  if (!to || !app) return false;
  // Node's URL parser does not know app: is registered as standard, so its origin reads "null":
  // compare the scheme and host instead.
  if (app.protocol === `${APP_SCHEME}:`) {
    return to.protocol === app.protocol && to.host === app.host && to.username === "" && to.password === "";
  }
  if (app.protocol === "file:") return to.protocol === "file:" && to.pathname === app.pathname;
  return to.origin === app.origin;
}

/** Whether a link may be handed to the system browser: http(s) only, never file:, javascript: or a custom scheme. */
export function isExternalWebUrl(url: string): boolean {
  const parsed = parseUrl(url);
  return parsed !== null && (parsed.protocol === "https:" || parsed.protocol === "http:");
}

/** Opens a web link in the system browser; anything that is not http(s) is dropped. */
export function openExternalSafely(url: string): boolean {
  if (!isExternalWebUrl(url)) return false;
  void shell.openExternal(url).catch(() => {
    // No browser, or the OS refused: the link simply does nothing, as a dead link would.
  });
  return true;
}

/**
 * Keeps a window on the app's page: navigation elsewhere is cancelled (web links go to the browser
 * instead), window.open never creates a window, and <webview> cannot be attached.
 */
export function guardWebContents(contents: WebContents, appUrl: string): void {
  const stayOnApp = (event: { preventDefault(): void }, url: string) => {
    if (isAppUrl(url, appUrl)) return;
    event.preventDefault();
    openExternalSafely(url);
  };
  contents.on("will-navigate", stayOnApp);
  contents.on("will-redirect", stayOnApp);
  contents.on("will-attach-webview", (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternalSafely(url);
    return { action: "deny" };
  });
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}
