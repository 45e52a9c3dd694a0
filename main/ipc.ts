/**
 * The desktop app's door: one ipcMain.handle per contract call, derived from the contract's list of
 * names, and every service event forwarded to the app's windows on one channel. Input is validated
 * here (the renderer is a trust boundary) and again by the service. Answers travel as an envelope,
 * `{ ok, value }` or `{ ok: false, error }`, because ipcRenderer.invoke keeps only the message of a
 * thrown error and the UI needs its code and hint.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from "electron";
import {
  CALL_NAMES,
  type CallName,
  type CallResult,
  type EventName,
  type EventPayload,
  IPC_EVENT_CHANNEL,
  ipcCallChannel,
} from "../engine/api/contract.ts";
import { toErrorInfo, validateCall } from "../engine/api/validate.ts";

/** The part of ElmwoodService this door uses. */
export interface ContractService {
  call(name: CallName, input: unknown): Promise<unknown>;
  onAny(listener: <E extends EventName>(event: E, payload: EventPayload<E>) => void): () => void;
}

export interface BindOptions {
  /** Whether a call comes from the app's own page (not a frame or a page navigated elsewhere). */
  isTrusted(event: IpcMainInvokeEvent): boolean;
  /** Where events go: the app's windows that are open now. */
  targets(): WebContents[];
}

/** Binds every contract call and forwards every event; returns the function that unbinds them. */
export function bindContract(ipcMain: IpcMain, service: ContractService, options: BindOptions): () => void {
  for (const name of CALL_NAMES) {
    ipcMain.handle(ipcCallChannel(name), async (event, input: unknown): Promise<CallResult<CallName>> => {
      try {
        if (!options.isTrusted(event)) {
          return {
            ok: false,
            error: {
              code: "BAD_INPUT",
              message: "This page may not use Elmwood's engine.",
              hint: "Only Elmwood's own window can.",
            },
          };
        }
        const value = await service.call(name, validateCall(name, input));
        return { ok: true, value } as CallResult<CallName>;
      } catch (error) {
        return { ok: false, error: toErrorInfo(error) };
      }
    });
  }
  const stopForwarding = service.onAny((event, payload) => {
    for (const contents of options.targets()) {
      if (!contents.isDestroyed()) contents.send(IPC_EVENT_CHANNEL, event, payload);
    }
  });
  return () => {
    stopForwarding();
    for (const name of CALL_NAMES) ipcMain.removeHandler(ipcCallChannel(name));
  };
}
