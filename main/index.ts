/**
 * The Electron main process: claims the single-instance lock, secures the session, builds the menu and
 * opens the one window. Engine work is wired in later through the typed contract, not here.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BrowserWindow } from "electron";
import { app, session } from "electron";
import { installApplicationMenu } from "./menu.ts";
import { secureSession } from "./security.ts";
import { claimSingleInstance } from "./single-instance.ts";
import { createMainWindow } from "./window.ts";

// electron-vite sets this in `npm start`; a built app loads its own file instead.
const devServerUrl = process.env.ELECTRON_RENDERER_URL;
const appUrl =
  devServerUrl ?? pathToFileURL(fileURLToPath(new URL("../renderer/index.html", import.meta.url))).href;
const preloadPath = fileURLToPath(new URL("../preload/index.cjs", import.meta.url));

let mainWindow: BrowserWindow | null = null;

function openMainWindow(): void {
  mainWindow = createMainWindow({ appUrl, preloadPath });
  mainWindow.on("closed", () => {
    mainWindow = null;
  });
}

// Every renderer sandboxed, whatever a future window forgets to ask for.
app.enableSandbox();

if (!claimSingleInstance(() => mainWindow)) {
  app.quit();
} else {
  void app.whenReady().then(() => {
    secureSession(session.defaultSession);
    installApplicationMenu();
    openMainWindow();
    // macOS keeps the app running with no windows; clicking the dock icon opens one again.
    app.on("activate", () => {
      if (mainWindow === null) openMainWindow();
    });
  });
  app.on("window-all-closed", () => {
    if (process.platform !== "darwin") app.quit();
  });
}
