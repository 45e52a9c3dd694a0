/**
 * The renderer's only door to the app: window.elmwood = { version, call(name, input), on(event,
 * listener) }, exactly the contract (engine/api/contract.ts's ElmwoodApi), plus the desktop-only
 * helpers a browser page cannot have: the path of a dropped file, the system folder picker, the
 * save dialog (main/save-file.ts) and restarting the app. Channels come from the contract's list of names; nothing else of
 * ipcRenderer reaches the page. A failed call rejects with a plain { name: "ElmwoodError", code,
 * message, hint } object, since the context bridge would strip an Error's own fields.
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer, webUtils } from "electron";
import {
  IPC_CHOOSE_FOLDER_CHANNEL,
  IPC_EVENT_CHANNEL,
  IPC_RESTART_CHANNEL,
  IPC_SAVE_FILE_CHANNEL,
  ipcCallChannel,
  isCallName,
  isEventName,
} from "../../engine/api/names.ts";

// Replaced at build time (electron.vite.config.ts): a sandboxed preload cannot read package.json.
declare const __ELMWOOD_VERSION__: string;

type Envelope =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: string; message: string; hint?: string } };

const listeners = new Map<string, Set<(payload: unknown) => void>>();

ipcRenderer.on(IPC_EVENT_CHANNEL, (_event: IpcRendererEvent, name: unknown, payload: unknown) => {
  if (typeof name !== "string") return;
  for (const listener of listeners.get(name) ?? []) {
    try {
      listener(payload);
    } catch (error) {
      console.error(`elmwood: a listener for ${name} failed`, error);
    }
  }
});

async function call(name: unknown, input: unknown): Promise<unknown> {
  if (!isCallName(name)) {
    throw {
      name: "ElmwoodError",
      code: "BAD_INPUT",
      message: `There is no call named '${String(name)}'.`,
      hint: "Check the name against the API contract.",
    };
  }
  const answer = (await ipcRenderer.invoke(ipcCallChannel(name), input)) as Envelope;
  if (answer.ok) return answer.value;
  throw { name: "ElmwoodError", ...answer.error };
}

function on(event: unknown, listener: unknown): () => void {
  if (!isEventName(event)) throw new TypeError(`There is no event named '${String(event)}'.`);
  if (typeof listener !== "function") throw new TypeError("The listener must be a function.");
  let set = listeners.get(event);
  if (!set) {
    set = new Set();
    listeners.set(event, set);
  }
  const entry = listener as (payload: unknown) => void;
  set.add(entry);
  return () => {
    set.delete(entry);
  };
}

/** The path of a file or folder dropped on the window (sandboxed pages only see File objects). */
function pathForFile(file: unknown): string {
  return file instanceof File ? webUtils.getPathForFile(file) : "";
}

/** The system's folder picker; null when the person cancels. */
async function chooseFolder(): Promise<string | null> {
  const chosen = await ipcRenderer.invoke(IPC_CHOOSE_FOLDER_CHANNEL);
  return typeof chosen === "string" ? chosen : null;
}

/** The system's save dialog, then the file written; saved is false when the person cancels. */
async function saveFile(file: unknown): Promise<{ saved: boolean }> {
  const answer = (await ipcRenderer.invoke(IPC_SAVE_FILE_CHANNEL, file)) as {
    saved?: unknown;
    error?: unknown;
  };
  if (typeof answer?.error === "string") throw new Error(answer.error);
  return { saved: answer?.saved === true };
}

/** Quits and starts the app again (a scheduled move of the data folder runs then). */
async function restart(): Promise<void> {
  await ipcRenderer.invoke(IPC_RESTART_CHANNEL);
}

contextBridge.exposeInMainWorld(
  "elmwood",
  Object.freeze({ version: __ELMWOOD_VERSION__, call, on, pathForFile, chooseFolder, saveFile, restart }),
);
