/**
 * The Electron main process: claims the single-instance lock, registers the app:// scheme, secures the
 * session, builds the menu, starts the engine service and binds it to the window through the typed
 * contract (main/ipc.ts), and opens the one window. A move of the data folder that Settings scheduled
 * runs first, before anything opens the profile. The service closes (saving replies in progress)
 * before the app quits; "Restart now" in Settings quits and starts the app again.
 */
import { fileURLToPath } from "node:url";
import type { BrowserWindow } from "electron";
import { app, dialog, ipcMain, protocol, safeStorage, session, shell } from "electron";
import { IPC_CHOOSE_FOLDER_CHANNEL, IPC_RESTART_CHANNEL } from "../engine/api/names.ts";
import { elmwoodPaths, locateProfile } from "../engine/paths.ts";
import { applyPendingDataMove, readDataMove } from "../engine/profile/data-move.ts";
import { ORT_TELEMETRY_OFF } from "../engine/runtime/ort/environment.ts";
import { ApiDoor } from "../engine/server/api-door.ts";
import { ElmwoodService } from "../engine/service.ts";
import { APP_INDEX_URL, installAppProtocol, registerAppScheme } from "./app-protocol.ts";
import { type MoveProgressView, openMoveProgressWindow } from "./data-move-window.ts";
import { desktopEngineKeys } from "./engine-keys.ts";
import { electronOpener } from "./file-opener.ts";
import { bindContract, type ContractService } from "./ipc.ts";
import { installApplicationMenu } from "./menu.ts";
import { quietChromium, quietSession } from "./offline.ts";
import { bindSaveFile } from "./save-file.ts";
import { isAppUrl, secureSession } from "./security.ts";
import { claimSingleInstance } from "./single-instance.ts";
import { createMainWindow } from "./window.ts";

// Before anything can load onnxruntime (its model worker inherits this process's environment); the
// engine sets it again where it creates onnxruntime's environment (engine/runtime/ort/environment.ts).
Object.assign(process.env, ORT_TELEMETRY_OFF);

// electron-vite sets this in `npm start`; a built app serves its own files on app://elmwood/.
const devServerUrl = process.env.ELECTRON_RENDERER_URL;
const appUrl = devServerUrl ?? APP_INDEX_URL;
const rendererDir = fileURLToPath(new URL("../renderer/", import.meta.url));
const preloadPath = fileURLToPath(new URL("../preload/index.cjs", import.meta.url));

let mainWindow: BrowserWindow | null = null;
let service: ElmwoodService | null = null;
let apiDoor: ApiDoor | null = null;

/** Only the app's own page in the app's own window: never a frame, never a page it navigated to. */
function isTrusted(event: Electron.IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return (
    frame !== null &&
    mainWindow !== null &&
    event.sender === mainWindow.webContents &&
    frame === event.sender.mainFrame &&
    isAppUrl(frame.url, appUrl)
  );
}

/**
 * Runs a move of the data folder scheduled in Settings (engine/profile/data-move.ts); only holding the
 * single-instance lock, and before the service opens the database. The error when the profile is in
 * no state to be used (a move that cannot finish).
 */
async function runScheduledDataMove(): Promise<{ error: unknown; view: MoveProgressView | null }> {
  const location = locateProfile();
  const pending = location.fromEnvironment ? null : await readDataMove(location.base).catch(() => null);
  // The person sees the move, not an app that does not open (main/data-move-window.ts).
  const view = pending?.state === "scheduled" ? openMoveProgressWindow(pending.to) : null;
  try {
    await applyPendingDataMove({
      log: (line) => console.log(line),
      onProgress: (progress) => view?.update(progress),
    });
    return { error: null, view };
  } catch (error) {
    console.error("Elmwood: the data folder could not be moved", error);
    return { error, view };
  }
}

function startService(profileError: unknown): void {
  let engine: ContractService;
  try {
    if (profileError) throw profileError;
    const profile = locateProfile();
    const paths = elmwoodPaths(profile.home);
    const started = new ElmwoodService({
      paths,
      profile,
      // Search results open with the system's program through Electron's shell (PDFs at their page
      // where the viewer takes one).
      opener: electronOpener(shell),
      // Remote engines' API keys are sealed by the system's keychain (main/engine-keys.ts).
      engineKeys: desktopEngineKeys(safeStorage, paths),
    });
    service = started;
    engine = started;
  } catch (error) {
    // A profile that cannot be opened (a read-only disk, a database from a newer version) still
    // gets a window, and every call answers with the reason and what to do.
    console.error("Elmwood: the engine could not start", error);
    engine = { call: () => Promise.reject(error), onAny: () => () => undefined };
  }
  bindContract(ipcMain, engine, {
    isTrusted,
    targets: () => (mainWindow ? [mainWindow.webContents] : []),
  });
  ipcMain.handle(IPC_CHOOSE_FOLDER_CHANNEL, async (event) => {
    if (!isTrusted(event) || !mainWindow) return null;
    const { canceled, filePaths } = await dialog.showOpenDialog(mainWindow, {
      properties: ["openDirectory"],
    });
    return canceled ? null : (filePaths[0] ?? null);
  });
  // Settings → "Restart now", after scheduling a move of the data folder: the move runs at the start.
  ipcMain.handle(IPC_RESTART_CHANNEL, (event) => {
    if (!isTrusted(event)) return;
    app.relaunch();
    app.quit();
  });
  // Exported conversations are saved where the person chooses.
  bindSaveFile(ipcMain, {
    isTrusted,
    window: () => mainWindow,
    dialog,
    defaultFolder: () => app.getPath("documents"),
  });
  service?.startIndexing();
  // The OpenAI-compatible API follows its switch in Settings (off by default).
  if (service) {
    apiDoor = new ApiDoor(service);
    apiDoor.start().catch((error: unknown) => console.error("Elmwood: the local API could not start", error));
  }
}

function openMainWindow(): void {
  mainWindow = createMainWindow({ appUrl, preloadPath });
  mainWindow.on("closed", () => {
    mainWindow = null;
  });
}

// Every renderer sandboxed, whatever a future window forgets to ask for.
app.enableSandbox();
// No background requests from Chromium (main/offline.ts).
quietChromium(app.commandLine);
// Scheme privileges count only when registered before the app is ready.
registerAppScheme(protocol);

if (!claimSingleInstance(() => mainWindow)) {
  app.quit();
} else {
  void app.whenReady().then(async () => {
    secureSession(session.defaultSession);
    quietSession(session.defaultSession);
    installAppProtocol(protocol, rendererDir);
    installApplicationMenu();
    const { error, view } = await runScheduledDataMove();
    startService(error);
    openMainWindow();
    // After the main window opens: closing the last window would quit the app.
    view?.close();
    // macOS keeps the app running with no windows; clicking the dock icon opens one again.
    app.on("activate", () => {
      if (mainWindow === null) openMainWindow();
    });
  });
  // Quitting waits for the engine to save replies in progress and let go of the model and database.
  app.on("before-quit", (event) => {
    const closing = service;
    if (!closing) return;
    service = null;
    event.preventDefault();
    const door = apiDoor;
    apiDoor = null;
    void Promise.resolve(door?.close())
      .then(() => closing.close())
      .catch((error: unknown) => console.error("Elmwood: closing the engine failed", error))
      .finally(() => app.quit());
  });
  app.on("window-all-closed", () => {
    if (process.platform !== "darwin") app.quit();
  });
}
