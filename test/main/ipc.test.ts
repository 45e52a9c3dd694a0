import type { IpcMain, IpcMainInvokeEvent, WebContents } from "electron";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { CALL_NAMES, type EventName, type EventPayload, ipcCallChannel } from "../../engine/api/contract.ts";
import { IPC_RESTART_CHANNEL, IPC_SAVE_FILE_CHANNEL } from "../../engine/api/names.ts";
import { ElmwoodError } from "../../engine/errors.ts";
import { bindContract, type ContractService } from "../../main/ipc.ts";

/** Stand-ins for ipcMain, ipcRenderer and the context bridge, wired to each other like Electron's. */
const electron = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  const rendererListeners = new Map<string, ((event: unknown, ...args: unknown[]) => void)[]>();
  const exposed: Record<string, unknown> = {};
  const trustedEvent = { trusted: true };
  return {
    handlers,
    exposed,
    trustedEvent,
    ipcMain: {
      handle: (channel: string, handler: (event: unknown, ...args: unknown[]) => unknown) => {
        if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
        handlers.set(channel, handler);
      },
      removeHandler: (channel: string) => handlers.delete(channel),
    },
    ipcRenderer: {
      invoke: async (channel: string, ...args: unknown[]) => {
        const handler = handlers.get(channel);
        if (!handler) throw new Error(`No handler registered for '${channel}'`);
        return handler(trustedEvent, ...args);
      },
      on: (channel: string, listener: (event: unknown, ...args: unknown[]) => void) => {
        rendererListeners.set(channel, [...(rendererListeners.get(channel) ?? []), listener]);
      },
    },
    /** What webContents.send delivers in the renderer. */
    deliver: (channel: string, ...args: unknown[]) => {
      for (const listener of rendererListeners.get(channel) ?? []) listener({}, ...args);
    },
    contextBridge: {
      exposeInMainWorld: (key: string, api: unknown) => {
        exposed[key] = api;
      },
    },
  };
});

vi.mock("electron", () => ({
  ipcMain: electron.ipcMain,
  ipcRenderer: electron.ipcRenderer,
  contextBridge: electron.contextBridge,
  webUtils: { getPathForFile: () => "/dropped/path" },
}));

type AnyListener = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

/** A service that records calls and answers each with its name, or fails as told. */
function fakeService(fail?: Error) {
  const calls: { name: string; input: unknown }[] = [];
  const listeners = new Set<AnyListener>();
  const service: ContractService & { emit: AnyListener } = {
    async call(name, input) {
      calls.push({ name, input });
      if (fail) throw fail;
      return { answered: name };
    },
    onAny(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: (event, payload) => {
      for (const listener of listeners) listener(event, payload);
    },
  };
  return { service, calls };
}

function fakeContents(destroyed = false) {
  const sent: unknown[][] = [];
  const contents = {
    isDestroyed: () => destroyed,
    send: (...args: unknown[]) => {
      sent.push(args);
      electron.deliver(...(args as [string, ...unknown[]]));
    },
  };
  return { contents: contents as unknown as WebContents, sent };
}

const ipcMain = electron.ipcMain as unknown as IpcMain;
const trusted = (event: IpcMainInvokeEvent) => (event as unknown as { trusted?: boolean }).trusted === true;
const invoke = (name: string, input: unknown, event: unknown = electron.trustedEvent) => {
  const handler = electron.handlers.get(`elmwood:call:${name}`);
  if (!handler) throw new Error(`${name} is not bound`);
  return handler(event, input) as Promise<{ ok: boolean; value?: unknown; error?: Record<string, unknown> }>;
};

describe("binding the contract to IPC", () => {
  it("binds one handler per contract call and nothing else, and unbinds them all", () => {
    const { service } = fakeService();
    const unbind = bindContract(ipcMain, service, { isTrusted: trusted, targets: () => [] });
    expect([...electron.handlers.keys()].sort()).toEqual(CALL_NAMES.map(ipcCallChannel).sort());
    unbind();
    expect(electron.handlers.size).toBe(0);
  });

  it("passes a valid call to the service with its defaults filled in", async () => {
    const { service, calls } = fakeService();
    const unbind = bindContract(ipcMain, service, { isTrusted: trusted, targets: () => [] });
    await expect(invoke("conversations.list", {})).resolves.toEqual({
      ok: true,
      value: { answered: "conversations.list" },
    });
    expect(calls).toEqual([{ name: "conversations.list", input: { limit: 100, offset: 0 } }]);
    unbind();
  });

  it("refuses invalid input with BAD_INPUT naming the field, without reaching the service", async () => {
    const { service, calls } = fakeService();
    const unbind = bindContract(ipcMain, service, { isTrusted: trusted, targets: () => [] });
    const answer = await invoke("chat.send", { content: "hi", conversationId: "../../etc" });
    expect(answer).toMatchObject({ ok: false, error: { code: "BAD_INPUT" } });
    expect(answer.error?.message).toContain("'conversationId'");
    expect(calls).toEqual([]);
    unbind();
  });

  it("refuses a call from a page that is not the app's", async () => {
    const { service, calls } = fakeService();
    const unbind = bindContract(ipcMain, service, { isTrusted: trusted, targets: () => [] });
    const answer = await invoke("status.get", {}, { trusted: false });
    expect(answer).toMatchObject({ ok: false, error: { code: "BAD_INPUT" } });
    expect(calls).toEqual([]);
    unbind();
  });

  it("answers a failed call with the error's code, message and hint", async () => {
    const { service } = fakeService(
      new ElmwoodError("NOT_FOUND", "No model is installed yet.", "Download one."),
    );
    const unbind = bindContract(ipcMain, service, { isTrusted: trusted, targets: () => [] });
    await expect(invoke("chat.send", { content: "hi" })).resolves.toEqual({
      ok: false,
      error: { code: "NOT_FOUND", message: "No model is installed yet.", hint: "Download one." },
    });
    unbind();
  });

  it("forwards every service event to the open windows only", () => {
    const { service } = fakeService();
    const open = fakeContents();
    const closed = fakeContents(true);
    const unbind = bindContract(ipcMain, service, {
      isTrusted: trusted,
      targets: () => [open.contents, closed.contents],
    });
    service.emit("documents.progress", { type: "idle" });
    expect(open.sent).toEqual([["elmwood:event", "documents.progress", { type: "idle" }]]);
    expect(closed.sent).toEqual([]);
    unbind();
    service.emit("documents.progress", { type: "idle" });
    expect(open.sent).toHaveLength(1);
  });
});

describe("the preload's window.elmwood", () => {
  let api: {
    saveFile?: unknown;
    version: string;
    call: (name: string, input: unknown) => Promise<unknown>;
    on: (event: string, listener: (payload: unknown) => void) => () => void;
  };
  beforeAll(async () => {
    (globalThis as Record<string, unknown>).__ELMWOOD_VERSION__ = "0.0.0-test";
    await import("../../main/preload/index.ts");
    api = electron.exposed.elmwood as typeof api;
  });

  it("exposes exactly version, call, on and the four desktop helpers", () => {
    expect(Object.keys(api).sort()).toEqual([
      "call",
      "chooseFolder",
      "on",
      "pathForFile",
      "restart",
      "saveFile",
      "version",
    ]);
    expect(Object.isFrozen(api)).toBe(true);
  });

  it("restart asks main's restart channel, with nothing else", async () => {
    const received: unknown[][] = [];
    electron.ipcMain.handle(IPC_RESTART_CHANNEL, (_event: unknown, ...args: unknown[]) => {
      received.push(args);
    });
    await (api as unknown as { restart(): Promise<void> }).restart();
    expect(received).toEqual([[]]);
    electron.ipcMain.removeHandler(IPC_RESTART_CHANNEL);
  });

  it("saveFile hands the file to main's save channel and reports saved, cancelled or the failure", async () => {
    const received: unknown[] = [];
    const answers: unknown[] = [
      { saved: true, path: "/home/a/x.md" },
      { saved: false },
      { saved: false, error: "Disk full" },
    ];
    electron.ipcMain.handle(IPC_SAVE_FILE_CHANNEL, (_event: unknown, file: unknown) => {
      received.push(file);
      return answers.shift();
    });
    const file = { filename: "x.md", mimeType: "text/markdown", content: "# x" };
    const save = api.saveFile as (file: unknown) => Promise<{ saved: boolean }>;
    await expect(save(file)).resolves.toEqual({ saved: true });
    await expect(save(file)).resolves.toEqual({ saved: false });
    await expect(save(file)).rejects.toThrow("Disk full");
    expect(received).toEqual([file, file, file]);
    electron.ipcMain.removeHandler(IPC_SAVE_FILE_CHANNEL);
  });

  it("resolves a call with the service's answer and rejects a failure with its code and hint", async () => {
    const ok = fakeService();
    let unbind = bindContract(ipcMain, ok.service, { isTrusted: trusted, targets: () => [] });
    await expect(api.call("status.get", {})).resolves.toEqual({ answered: "status.get" });
    unbind();
    const failing = fakeService(new ElmwoodError("BUSY", "The model is busy.", "Try again in a moment."));
    unbind = bindContract(ipcMain, failing.service, { isTrusted: trusted, targets: () => [] });
    await expect(api.call("status.get", {})).rejects.toEqual({
      name: "ElmwoodError",
      code: "BUSY",
      message: "The model is busy.",
      hint: "Try again in a moment.",
    });
    unbind();
  });

  it("refuses a call name outside the contract without sending it", async () => {
    await expect(api.call("shell.exec", {})).rejects.toMatchObject({ code: "BAD_INPUT" });
  });

  it("delivers forwarded events to listeners until they unsubscribe", () => {
    const { service } = fakeService();
    const window = fakeContents();
    const unbind = bindContract(ipcMain, service, { isTrusted: trusted, targets: () => [window.contents] });
    const heard: unknown[] = [];
    const off = api.on("chat.token", (payload) => heard.push(payload));
    const token = { requestId: "r", conversationId: "c", messageId: "m", delta: "Hi", tokens: 1 };
    service.emit("chat.token", token);
    off();
    service.emit("chat.token", token);
    expect(heard).toEqual([token]);
    expect(() => api.on("no.such.event", () => {})).toThrow(/no event named/);
    unbind();
  });
});
