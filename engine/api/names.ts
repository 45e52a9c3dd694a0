/**
 * The names of every call and event, without their schemas. The sandboxed preload binds its channels
 * from these and must stay small, so it imports this file rather than the zod schemas; contract.ts
 * is checked against these lists at compile time (a name missing on either side fails tsc).
 */
import type { ErrorCode } from "../errors.ts";

export const CALL_NAMES = [
  "chat.send",
  "chat.stop",
  "chat.prepare",
  "chat.regenerate",
  "chat.edit",
  "chat.switchBranch",
  "conversations.create",
  "conversations.list",
  "conversations.get",
  "conversations.rename",
  "conversations.delete",
  "conversations.search",
  "conversations.export",
  "conversations.import",
  "conversations.updateSettings",
  "conversations.attach",
  "conversations.detach",
  "conversations.excludeSource",
  "completions.create",
  "completions.cancel",
  "models.catalog",
  "models.list",
  "models.pull",
  "models.pause",
  "models.cancel",
  "models.import",
  "models.remove",
  "models.removeSource",
  "models.setDefault",
  "models.load",
  "models.unload",
  "status.get",
  "settings.get",
  "settings.update",
  "api.get",
  "api.update",
  "api.regenerateToken",
  "engines.list",
  "engines.add",
  "engines.update",
  "engines.refresh",
  "engines.remove",
  "storage.get",
  "storage.inspect",
  "storage.moveModels",
  "storage.cancelMove",
  "storage.scheduleDataMove",
  "storage.cancelDataMove",
  "documents.addFolder",
  "documents.removeFolder",
  "documents.status",
  "documents.search",
  "documents.open",
  "documents.ask",
  "documents.summarize",
  "documents.cancel",
] as const;

export const EVENT_NAMES = [
  "chat.token",
  "chat.done",
  "chat.error",
  "completion.token",
  "completion.done",
  "completion.error",
  "models.progress",
  "documents.progress",
  "summary.progress",
  "answer.progress",
  "storage.progress",
  "status.changed",
  "api.changed",
  "engines.changed",
] as const;

/** Every ElmwoodError code, in the order of engine/errors.ts. */
export const ERROR_CODES = [
  "BAD_INPUT",
  "NOT_FOUND",
  "CHECKPOINT",
  "MODEL",
  "CONTEXT_OVERFLOW",
  "PROVIDER",
  "CANCELLED",
  "NETWORK",
  "DISK",
  "BUSY",
  "INTERNAL",
] as const satisfies readonly ErrorCode[];

export type CallName = (typeof CALL_NAMES)[number];
export type EventName = (typeof EVENT_NAMES)[number];

export function isCallName(name: unknown): name is CallName {
  return typeof name === "string" && (CALL_NAMES as readonly string[]).includes(name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === "string" && (EVENT_NAMES as readonly string[]).includes(name);
}

/** Electron IPC channels, derived here so main and the preload never spell them separately. */
export const IPC_EVENT_CHANNEL = "elmwood:event";

/** Desktop only: the system's folder picker (browser mode has no path to give). */
export const IPC_CHOOSE_FOLDER_CHANNEL = "elmwood:choose-folder";

/** Desktop only: the system's save dialog, then the file written (browser mode downloads instead). */
export const IPC_SAVE_FILE_CHANNEL = "elmwood:save-file";

/** Desktop only: quit and start again (a data folder move runs at the start). */
export const IPC_RESTART_CHANNEL = "elmwood:restart";

export function ipcCallChannel(name: CallName): string {
  return `elmwood:call:${name}`;
}
