/**
 * Which door this page talks through: the preload's bridge inside the desktop app, HTTP + SSE when the
 * engine serves the page to a browser. The views only ever see the typed client.
 */
import { createClient, type ElmwoodClient } from "./client.ts";
import { type DesktopExtras, desktopApi, isDesktopBridge } from "./desktop-transport.ts";
import { type ConnectionState, httpApi, takeToken } from "./http-transport.ts";

export interface Connection {
  client: ElmwoodClient;
  mode: "desktop" | "browser";
  /** Desktop-only abilities (file paths, folder picker); empty in a browser. */
  extras: DesktopExtras;
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

export function connect(win: Window = window): Connection {
  const bridge = win.elmwood;
  if (isDesktopBridge(bridge)) {
    return {
      client: createClient(desktopApi(bridge)),
      mode: "desktop",
      extras: bridge,
      onConnection: (listener) => {
        listener("open");
        return () => {};
      },
    };
  }
  const api = httpApi({
    base: win.location.origin,
    token: takeToken(win.location, win.sessionStorage, win.history),
  });
  return { client: createClient(api), mode: "browser", extras: {}, onConnection: api.onConnection };
}
