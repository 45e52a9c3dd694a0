/**
 * The desktop door: the preload's window.elmwood. Electron's invoke keeps only an Error's message, so a
 * failure may arrive as an envelope, as an ErrorInfo-shaped object, or as "Error invoking remote
 * method ...: Error: <message>"; each becomes a CallError.
 */
import type { CallInput, CallName, CallOutput, ElmwoodApi } from "../../engine/api/contract.ts";
import { unwrapResult } from "./envelope.ts";
import { asErrorInfo, CallError, isErrorInfo } from "./errors.ts";

/** What the preload may offer beyond the contract: the desktop can name files and folders. */
export interface DesktopExtras {
  readonly version?: string;
  /** The path of a dropped file or folder (Electron's webUtils.getPathForFile). */
  pathForFile?(file: File): string;
  /** The system's folder picker; null when the person cancels. */
  chooseFolder?(): Promise<string | null>;
  /** The system's save dialog, then the file written there; saved is false when the person cancels. */
  saveFile?(file: { filename: string; mimeType: string; content: string }): Promise<{ saved: boolean }>;
  /** Quits the app and starts it again (a scheduled move of the data folder runs at the start). */
  restart?(): Promise<void>;
}

export type DesktopBridge = ElmwoodApi & DesktopExtras;

declare global {
  interface Window {
    /** Set by the preload in the desktop app; absent in a browser. */
    readonly elmwood?: Partial<DesktopBridge>;
  }
}

export function isDesktopBridge(value: unknown): value is DesktopBridge {
  if (typeof value !== "object" || value === null) return false;
  const bridge = value as Partial<DesktopBridge>;
  return typeof bridge.call === "function" && typeof bridge.on === "function";
}

const REMOTE_PREFIX = /^Error invoking remote method '[^']*': (?:\w*Error: )?/;

function asCallError(error: unknown): CallError {
  if (error instanceof CallError) return error;
  if (isErrorInfo(error)) return new CallError(error);
  if (error instanceof Error) {
    const message = error.message.replace(REMOTE_PREFIX, "");
    try {
      const parsed: unknown = JSON.parse(message);
      if (isErrorInfo(parsed)) return new CallError(parsed);
    } catch {
      // Not JSON: an ordinary message.
    }
    return new CallError(asErrorInfo(new Error(message)));
  }
  return new CallError(asErrorInfo(error));
}

export function desktopApi(bridge: DesktopBridge): ElmwoodApi {
  return {
    async call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>> {
      try {
        return unwrapResult(await bridge.call(name, input)) as CallOutput<N>;
      } catch (error) {
        throw asCallError(error);
      }
    },
    on: (event, listener) => bridge.on(event, listener),
  };
}
