import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

/**
 * main/index.ts run against stand-ins for Electron and the engine, to check the order Electron
 * requires: scheme privileges before `ready`, the app:// handler before the window loads its page.
 */
const fake = await vi.hoisted(async () => {
  const { EventEmitter } = await import("node:events");
  const order: string[] = [];
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const app = Object.assign(new EventEmitter(), {
    enableSandbox: vi.fn(() => order.push("enableSandbox")),
    // Chromium's background networking off (main/offline.ts): switches only count before ready.
    commandLine: { appendSwitch: vi.fn((name: string) => order.push(`switch:${name}`)) },
    requestSingleInstanceLock: vi.fn(() => true),
    relaunch: vi.fn(),
    whenReady: vi.fn(() => ready),
    quit: vi.fn(),
  });
  const protocol = {
    registerSchemesAsPrivileged: vi.fn(() => order.push("registerSchemesAsPrivileged")),
    handle: vi.fn((scheme: string) => order.push(`handle:${scheme}`)),
  };
  /** What main/index.ts gave the engine service. */
  const serviceOptions: Record<string, unknown>[] = [];
  const safeStorage = {
    isEncryptionAvailable: vi.fn(() => true),
    getSelectedStorageBackend: vi.fn(() => "gnome_libsecret"),
    encryptString: vi.fn((plain: string) => Buffer.from(`sealed:${plain}`)),
    decryptString: vi.fn((sealed: Buffer) => sealed.toString().replace(/^sealed:/, "")),
  };
  const windows: { webContents: object }[] = [];
  return { order, app, protocol, serviceOptions, safeStorage, windows, ready: () => markReady() };
});

vi.mock("electron", async () => {
  const { EventEmitter } = await import("node:events");
  class FakeBrowserWindow extends EventEmitter {
    readonly webContents = Object.assign(new EventEmitter(), {
      setWindowOpenHandler: vi.fn(),
      mainFrame: { url: "app://elmwood/index.html" },
    });
    constructor() {
      super();
      fake.windows.push(this);
    }
    loadURL = vi.fn(async (url: string) => {
      fake.order.push(`loadURL:${url}`);
    });
  }
  const electron = {
    app: fake.app,
    protocol: fake.protocol,
    BrowserWindow: FakeBrowserWindow,
    dialog: { showOpenDialog: vi.fn() },
    ipcMain: { handle: vi.fn() },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: vi.fn() },
        setPermissionRequestHandler: vi.fn(),
        setPermissionCheckHandler: vi.fn(() => fake.order.push("secureSession")),
        setSpellCheckerEnabled: vi.fn(),
        setSpellCheckerLanguages: vi.fn(),
      },
    },
    shell: { openPath: vi.fn(), showItemInFolder: vi.fn(), openExternal: vi.fn() },
    safeStorage: fake.safeStorage,
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    Menu: { setApplicationMenu: vi.fn(), buildFromTemplate: vi.fn(() => ({})) },
  };
  return { ...electron, default: electron };
});

vi.mock("../../engine/profile/data-move.ts", () => ({
  readDataMove: vi.fn(async () => null),
  // A move of the data folder scheduled in Settings runs before the service opens the profile.
  applyPendingDataMove: vi.fn(async () => {
    fake.order.push("applyPendingDataMove");
    return null;
  }),
}));
vi.mock("../../engine/service.ts", () => ({
  ElmwoodService: class {
    constructor(options: Record<string, unknown>) {
      fake.order.push("service");
      fake.serviceOptions.push(options);
    }
    call = vi.fn();
    onAny = vi.fn(() => () => undefined);
    startIndexing = vi.fn();
    close = vi.fn(async () => {});
  },
}));
vi.mock("../../engine/server/api-door.ts", () => ({
  ApiDoor: class {
    start = vi.fn(async () => {});
    close = vi.fn(async () => {});
  },
}));

let home: string;
const savedHome = process.env.ELMWOOD_HOME;
const savedRendererUrl = process.env.ELECTRON_RENDERER_URL;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "elmwood-startup-"));
  process.env.ELMWOOD_HOME = home;
  delete process.env.ELECTRON_RENDERER_URL;
});

afterAll(async () => {
  if (savedHome === undefined) delete process.env.ELMWOOD_HOME;
  else process.env.ELMWOOD_HOME = savedHome;
  if (savedRendererUrl !== undefined) process.env.ELECTRON_RENDERER_URL = savedRendererUrl;
  await rm(home, { recursive: true, force: true });
});

describe("starting the desktop app", () => {
  it("registers app: before ready, installs its handler after, and then loads app://elmwood", async () => {
    await import("../../main/index.ts");
    const switches = fake.order.filter((step) => step.startsWith("switch:"));
    expect(switches).toContain("switch:disable-background-networking");
    fake.order.splice(0, fake.order.length, ...fake.order.filter((step) => !step.startsWith("switch:")));
    expect(fake.order).toEqual(["enableSandbox", "registerSchemesAsPrivileged"]);

    fake.ready();
    await vi.waitFor(() => expect(fake.order.some((step) => step.startsWith("loadURL:"))).toBe(true));
    expect(fake.order).toEqual([
      "enableSandbox",
      "registerSchemesAsPrivileged",
      "secureSession",
      "handle:app",
      "applyPendingDataMove",
      "service",
      "loadURL:app://elmwood/index.html",
    ]);
  });

  it("gives the engine a store for remote engines' API keys sealed by safeStorage", async () => {
    const [options] = fake.serviceOptions;
    const keys = options.engineKeys as { storage: string; set(e: string, k: string): Promise<void> };
    expect(keys.storage).toBe("encrypted");
    await keys.set("gpu", "sk-secret");
    expect(fake.safeStorage.encryptString).toHaveBeenCalledWith("sk-secret");
  });

  it("restarts for the app's own page only (Settings' Restart now, after scheduling a data folder move)", async () => {
    const { ipcMain } = await import("electron");
    const { IPC_RESTART_CHANNEL } = await import("../../engine/api/names.ts");
    const handle = vi
      .mocked(ipcMain.handle)
      .mock.calls.find(([channel]) => channel === IPC_RESTART_CHANNEL)?.[1];
    expect(handle).toBeDefined();
    const [window] = fake.windows;
    const contents = window.webContents as { mainFrame: { url: string } };
    const stranger = { sender: contents, senderFrame: { url: "https://example.com/" } };
    await handle?.(stranger as never);
    expect(fake.app.relaunch).not.toHaveBeenCalled();
    await handle?.({ sender: contents, senderFrame: contents.mainFrame } as never);
    expect(fake.app.relaunch).toHaveBeenCalledTimes(1);
    expect(fake.app.quit).toHaveBeenCalled();
  });
});
