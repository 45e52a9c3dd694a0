/** The main window: built with the secure preferences, guarded, and remembering where it was. */
import { BrowserWindow, screen } from "electron";
import { spellcheckNeedsNoDownload } from "./offline.ts";
import { guardWebContents, secureWebPreferences } from "./security.ts";
import { loadWindowState, MIN_WINDOW_SIZE, saveWindowState, windowStateFile } from "./window-state.ts";

export interface MainWindowOptions {
  /** The page to show: the Vite dev server's URL, or app://elmwood/index.html (main/app-protocol.ts). */
  appUrl: string;
  /** Absolute path of the built preload script. */
  preloadPath: string;
  /** Where the window's size and position are kept; defaults to the profile folder. */
  stateFile?: string;
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const stateFile = options.stateFile ?? windowStateFile();
  const workAreas = screen.getAllDisplays().map((display) => display.workArea);
  const state = loadWindowState(stateFile, workAreas);

  const window = new BrowserWindow({
    ...(state.x === undefined ? {} : { x: state.x, y: state.y }),
    width: state.width,
    height: state.height,
    minWidth: MIN_WINDOW_SIZE.width,
    minHeight: MIN_WINDOW_SIZE.height,
    title: "Elmwood",
    // Shown once painted, so the window never flashes white before the page.
    show: false,
    // Spellcheck only where it downloads no dictionary (main/offline.ts).
    webPreferences: { ...secureWebPreferences(options.preloadPath), spellcheck: spellcheckNeedsNoDownload() },
  });
  guardWebContents(window.webContents, options.appUrl);

  window.once("ready-to-show", () => {
    if (state.maximized) window.maximize();
    window.show();
  });
  window.on("close", () => {
    // The normal bounds, so a maximized window comes back maximized over the size it had before.
    const bounds = window.getNormalBounds();
    saveWindowState(stateFile, { ...bounds, maximized: window.isMaximized() });
  });

  void window.loadURL(options.appUrl);
  return window;
}
