import { EventEmitter } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserWindow, Session, WebContents } from "electron";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

/** Stand-ins for the parts of Electron the shell touches; the real binary is never loaded. */
const electron = await vi.hoisted(async () => {
  const { EventEmitter } = await import("node:events");
  const app = Object.assign(new EventEmitter(), {
    requestSingleInstanceLock: vi.fn(() => true),
    quit: vi.fn(),
  });
  const windows: unknown[] = [];
  return {
    app,
    windows,
    shell: { openExternal: vi.fn(async (_url: string) => {}) },
    screen: { getAllDisplays: vi.fn(() => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }]) },
    Menu: { setApplicationMenu: vi.fn(), buildFromTemplate: vi.fn((template: unknown) => ({ template })) },
    session: { defaultSession: {} },
    contextBridge: { exposeInMainWorld: vi.fn() },
  };
});

vi.mock("electron", async () => {
  const { EventEmitter } = await import("node:events");
  /** Enough of a BrowserWindow to be created, shown, moved and closed. */
  class FakeBrowserWindow extends EventEmitter {
    readonly webContents = fakeWebContents();
    bounds: { x: number; y: number; width: number; height: number };
    maximized = false;
    loadURL = vi.fn(async (_url: string) => {});
    constructor(readonly options: Record<string, unknown>) {
      super();
      this.bounds = {
        x: (options.x as number) ?? 0,
        y: (options.y as number) ?? 0,
        width: options.width as number,
        height: options.height as number,
      };
      electron.windows.push(this);
    }
    getNormalBounds() {
      return this.bounds;
    }
    isMaximized() {
      return this.maximized;
    }
    maximize() {
      this.maximized = true;
    }
    show() {}
  }
  return { ...electron, BrowserWindow: FakeBrowserWindow, default: electron };
});

const { CONTENT_SECURITY_POLICY, guardWebContents, isAppUrl, secureSession, secureWebPreferences } =
  await import("../../main/security.ts");
const { claimSingleInstance } = await import("../../main/single-instance.ts");
const { createMainWindow } = await import("../../main/window.ts");
const { menuTemplate } = await import("../../main/menu.ts");

/** A webContents that records its listeners so a test can fire them. */
function fakeWebContents() {
  const emitter = new EventEmitter();
  let openHandler: ((details: { url: string }) => { action: string }) | undefined;
  return Object.assign(emitter, {
    setWindowOpenHandler(handler: typeof openHandler) {
      openHandler = handler;
    },
    open(url: string) {
      if (!openHandler) throw new Error("no window open handler was set");
      return openHandler({ url });
    },
  });
}

/** Fires will-navigate and reports whether the navigation was cancelled. */
function navigate(contents: ReturnType<typeof fakeWebContents>, url: string): boolean {
  const event = { preventDefault: vi.fn() };
  contents.emit("will-navigate", event, url);
  return event.preventDefault.mock.calls.length > 0;
}

function guarded(appUrl: string) {
  const contents = fakeWebContents();
  guardWebContents(contents as unknown as WebContents, appUrl);
  return contents;
}

const packagedUrl = "app://elmwood/index.html";
const devUrl = "http://localhost:5173/";

beforeEach(() => {
  electron.shell.openExternal.mockClear();
});

describe("secureWebPreferences", () => {
  it("isolates and sandboxes the renderer with no Node integration", () => {
    const preferences = secureWebPreferences("/app/out/preload/index.cjs");
    expect(preferences).toMatchObject({
      preload: "/app/out/preload/index.cjs",
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });
});

describe("navigation guard", () => {
  it("cancels navigation to a foreign site and opens it in the system browser instead", () => {
    const contents = guarded(packagedUrl);
    expect(navigate(contents, "https://example.com/phish")).toBe(true);
    expect(electron.shell.openExternal).toHaveBeenCalledWith("https://example.com/phish");
  });

  it("keeps the packaged page on app://elmwood: its own paths yes, local files and other hosts no", () => {
    const contents = guarded(packagedUrl);
    expect(navigate(contents, `${packagedUrl}#/settings`)).toBe(false);
    expect(navigate(contents, "app://elmwood/settings?tab=api")).toBe(false);
    expect(navigate(contents, "file:///opt/Elmwood/resources/app/out/renderer/index.html")).toBe(true);
    expect(navigate(contents, "file:///etc/passwd")).toBe(true);
    expect(navigate(contents, "app://elmwood.example/index.html")).toBe(true);
    expect(navigate(contents, "app://other/index.html")).toBe(true);
    expect(navigate(contents, "app://user:pass@elmwood/index.html")).toBe(true);
    expect(navigate(contents, "elmwood://elmwood/index.html")).toBe(true);
    expect(electron.shell.openExternal).not.toHaveBeenCalled();
  });

  it("holds a file: page (no longer used) to its one file", () => {
    const filePage = "file:///opt/Elmwood/resources/app/out/renderer/index.html";
    expect(isAppUrl(`${filePage}#/chat`, filePage)).toBe(true);
    expect(isAppUrl("file:///etc/passwd", filePage)).toBe(false);
  });

  it("allows pages on the dev server's origin and nothing on another port", () => {
    const contents = guarded(devUrl);
    expect(navigate(contents, "http://localhost:5173/index.html")).toBe(false);
    expect(navigate(contents, "http://localhost:8080/")).toBe(true);
  });

  it("cancels redirects away from the app too", () => {
    const contents = guarded(packagedUrl);
    const event = { preventDefault: vi.fn() };
    contents.emit("will-redirect", event, "https://example.com/");
    expect(event.preventDefault).toHaveBeenCalled();
  });

  it("refuses to attach a <webview>", () => {
    const contents = guarded(packagedUrl);
    const event = { preventDefault: vi.fn() };
    contents.emit("will-attach-webview", event, {}, {});
    expect(event.preventDefault).toHaveBeenCalled();
  });
});

describe("window.open", () => {
  it("never creates a window, even for the app's own page", () => {
    const contents = guarded(packagedUrl);
    expect(contents.open(packagedUrl)).toEqual({ action: "deny" });
    expect(contents.open("https://example.com/")).toEqual({ action: "deny" });
  });

  it("hands only http and https links to the system browser", () => {
    const contents = guarded(packagedUrl);
    const urls = [
      "https://example.com/a",
      "http://example.com/b",
      "file:///etc/passwd",
      "javascript:alert(1)",
      "smb://server/share",
      "ms-msdt:/id",
      "not a url",
    ];
    for (const url of urls) contents.open(url);
    expect(electron.shell.openExternal.mock.calls.map(([url]) => url)).toEqual([
      "https://example.com/a",
      "http://example.com/b",
    ]);
  });
});

describe("secureSession", () => {
  function fakeSession() {
    let onHeaders:
      | ((details: { responseHeaders?: Record<string, string[]> }, callback: (r: unknown) => void) => void)
      | undefined;
    let onPermission:
      | ((contents: unknown, permission: string, callback: (ok: boolean) => void) => void)
      | undefined;
    const session = {
      webRequest: { onHeadersReceived: (listener: typeof onHeaders) => (onHeaders = listener) },
      setPermissionRequestHandler: (handler: typeof onPermission) => (onPermission = handler),
      setPermissionCheckHandler: vi.fn(),
    };
    secureSession(session as unknown as Session);
    return {
      respond(headers?: Record<string, string[]>) {
        let response: { responseHeaders: Record<string, string[]> } | undefined;
        onHeaders?.({ responseHeaders: headers }, (r) => (response = r as typeof response));
        return response?.responseHeaders;
      },
      ask(permission: string) {
        let granted: boolean | undefined;
        onPermission?.({}, permission, (ok) => (granted = ok));
        return granted;
      },
      checkHandler: session.setPermissionCheckHandler,
    };
  }

  it("adds the Content-Security-Policy header to every response", () => {
    const headers = fakeSession().respond({ "Content-Type": ["text/html"] });
    expect(headers?.["Content-Security-Policy"]).toEqual([CONTENT_SECURITY_POLICY]);
    expect(headers?.["Content-Type"]).toEqual(["text/html"]);
  });

  it("keeps a policy the response already had, so ours can only add restrictions", () => {
    const headers = fakeSession().respond({ "content-security-policy": ["img-src 'none'"] });
    expect(headers?.["Content-Security-Policy"]).toEqual(["img-src 'none'", CONTENT_SECURITY_POLICY]);
    expect(headers?.["content-security-policy"]).toBeUndefined();
  });

  it("sets the header on responses that came without headers", () => {
    expect(fakeSession().respond(undefined)?.["Content-Security-Policy"]).toEqual([CONTENT_SECURITY_POLICY]);
  });

  it("refuses every permission request", () => {
    const session = fakeSession();
    expect(session.ask("media")).toBe(false);
    expect(session.ask("geolocation")).toBe(false);
    const check = session.checkHandler.mock.calls[0]?.[0] as () => boolean;
    expect(check()).toBe(false);
  });

  it("is strict: scripts and styles from the app only, no plugins, no framing, no base rewriting", () => {
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split(";").map((directive) => {
        const [name, ...values] = directive.trim().split(/\s+/);
        return [name, values.join(" ")] as const;
      }),
    );
    expect(directives.get("default-src")).toBe("'self'");
    expect(directives.get("script-src")).toBe("'self'");
    expect(directives.get("style-src")).toBe("'self'");
    expect(directives.get("object-src")).toBe("'none'");
    expect(directives.get("base-uri")).toBe("'none'");
    expect(directives.get("frame-ancestors")).toBe("'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe");
  });

  it("matches the policy in index.html's meta tag, which cannot carry frame-ancestors", async () => {
    const html = await readFile(new URL("../../renderer/index.html", import.meta.url), "utf8");
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    const headerWithoutFraming = CONTENT_SECURITY_POLICY.split("; ")
      .filter((directive) => !directive.startsWith("frame-ancestors"))
      .join("; ");
    expect(meta).toBe(headerWithoutFraming);
  });
});

describe("claimSingleInstance", () => {
  afterEach(() => {
    electron.app.removeAllListeners();
    electron.app.requestSingleInstanceLock.mockReset();
  });

  function fakeWindow(minimized: boolean) {
    return {
      isDestroyed: () => false,
      isMinimized: () => minimized,
      restore: vi.fn(),
      show: vi.fn(),
      focus: vi.fn(),
    };
  }

  it("requests the lock and reports a second instance so it can quit", () => {
    electron.app.requestSingleInstanceLock.mockReturnValue(false);
    expect(claimSingleInstance(() => null)).toBe(false);
    expect(electron.app.requestSingleInstanceLock).toHaveBeenCalledOnce();
    expect(electron.app.listenerCount("second-instance")).toBe(0);
  });

  it("brings the first instance's window back when another launch is attempted", () => {
    electron.app.requestSingleInstanceLock.mockReturnValue(true);
    const window = fakeWindow(true);
    expect(claimSingleInstance(() => window as unknown as BrowserWindow)).toBe(true);
    electron.app.emit("second-instance", {}, [], "/");
    expect(window.restore).toHaveBeenCalled();
    expect(window.focus).toHaveBeenCalled();
  });

  it("ignores a second launch that arrives before the window exists", () => {
    electron.app.requestSingleInstanceLock.mockReturnValue(true);
    claimSingleInstance(() => null);
    expect(() => electron.app.emit("second-instance", {}, [], "/")).not.toThrow();
  });
});

describe("createMainWindow", () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "elmwood-window-"));
    electron.windows.length = 0;
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  type Created = EventEmitter & {
    options: { webPreferences: Record<string, unknown>; x?: number; width: number };
    bounds: { x: number; y: number; width: number; height: number };
    maximized: boolean;
    webContents: ReturnType<typeof fakeWebContents>;
    loadURL: ReturnType<typeof vi.fn>;
  };

  it("opens the app page in a secured window and guards its navigation", () => {
    createMainWindow({ appUrl: packagedUrl, preloadPath: "/p.cjs", stateFile: join(home, "w.json") });
    const window = electron.windows[0] as Created;
    expect(window.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true });
    // No spellchecker dictionary downloads (main/offline.ts): spellcheck only where the OS provides it.
    expect(window.options.webPreferences.spellcheck).toBe(process.platform === "darwin");
    expect(window.loadURL).toHaveBeenCalledWith(packagedUrl);
    expect(navigate(window.webContents, "https://example.com/")).toBe(true);
  });

  it("reopens where it was closed, maximized state included", async () => {
    const stateFile = join(home, "w.json");
    createMainWindow({ appUrl: packagedUrl, preloadPath: "/p.cjs", stateFile });
    const first = electron.windows[0] as Created;
    first.bounds = { x: 200, y: 100, width: 900, height: 700 };
    first.maximized = true;
    first.emit("close");

    createMainWindow({ appUrl: packagedUrl, preloadPath: "/p.cjs", stateFile });
    const second = electron.windows[1] as Created;
    expect(second.options).toMatchObject({ x: 200, y: 100, width: 900, height: 700 });
    second.emit("ready-to-show");
    expect(second.maximized).toBe(true);
  });

  it("opens at the default size when the state file is garbage", async () => {
    const stateFile = join(home, "w.json");
    await writeFile(stateFile, "{ not json");
    createMainWindow({ appUrl: packagedUrl, preloadPath: "/p.cjs", stateFile });
    const window = electron.windows[0] as Created;
    expect(window.options.x).toBeUndefined();
    expect(window.options.width).toBe(1100);
  });
});

describe("menuTemplate", () => {
  it("uses the standard roles, with the app menu first on macOS only", () => {
    expect(menuTemplate("darwin").map((item) => item.role)).toEqual([
      "appMenu",
      "fileMenu",
      "editMenu",
      "viewMenu",
      "windowMenu",
    ]);
    expect(menuTemplate("linux").map((item) => item.role)).toEqual([
      "fileMenu",
      "editMenu",
      "viewMenu",
      "windowMenu",
    ]);
  });
});
