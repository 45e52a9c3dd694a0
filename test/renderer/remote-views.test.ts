// @vitest-environment happy-dom
/**
 * Remote engines in the window: Settings → Engines asks before plain http to another machine and
 * never shows a key back; the status bar and the conversation say where text is sent; the meter
 * uses the remote model's window and says its count is an estimate; the model picker lists remote
 * models under their engine and host.
 */
import * as Tooltip from "@radix-ui/react-tooltip";
import { act, createElement } from "react";
import { afterEach, describe, expect, it } from "vitest";
import type { EngineInfo, RemoteModelInfo } from "../../engine/api/contract.ts";
import { App } from "../../renderer/app/App.tsx";
import { StatusBar } from "../../renderer/app/StatusBar.tsx";
import { ChatView } from "../../renderer/chat/ChatView.tsx";
import { SettingsDrawer } from "../../renderer/chat/SettingsDrawer.tsx";
import { EngineSettings } from "../../renderer/settings/EngineSettings.tsx";
import { byLabel, byLabelText, byRole, click, type Mounted, mount, type } from "./dom.tsx";
import { fakeApi } from "./fake-api.ts";

let mounted: Mounted | undefined;
afterEach(() => {
  mounted?.unmount();
  mounted = undefined;
});

const remoteModel: RemoteModelInfo = {
  name: "gpu/llama-3.1-8b",
  id: "llama-3.1-8b",
  engine: "gpu",
  host: "gpu-box:8000",
  contextLength: 8192,
  contextSource: "engine",
  isDefault: true,
};

function engine(fields: Partial<EngineInfo> = {}): EngineInfo {
  return {
    name: "gpu",
    baseUrl: "https://gpu-box:8000/v1",
    host: "gpu-box:8000",
    unencrypted: false,
    hasKey: true,
    keyStorage: "encrypted",
    contextLength: null,
    models: [remoteModel],
    addedAt: 0,
    checkedAt: 0,
    error: null,
    ...fields,
  };
}

/** The models store as after models.list: nothing installed, one remote model as the default. */
function withRemoteDefault(view: Mounted) {
  act(() =>
    view.stores.models.setState({ loaded: true, remote: [remoteModel], defaultModel: remoteModel.name }),
  );
}

describe("Settings → Engines", () => {
  function enginesApi() {
    return fakeApi({
      "engines.list": () => ({ engines: [], problem: null }),
      "engines.add": (input) =>
        engine({ name: input.name ?? "gpu", baseUrl: input.baseUrl, hasKey: input.apiKey !== undefined }),
    });
  }

  it("asks before adding plain http to another machine, and adds it only when the person agrees", async () => {
    const api = enginesApi();
    mounted = await mount(api, createElement(EngineSettings));
    await type(byLabelText(mounted.container, "Engine address"), "http://gpu-box:8000/v1");
    await click(byRole(mounted.container, "button", "Add engine"));
    const dialog = mounted.container.querySelector("dialog[open]");
    expect(dialog?.textContent).toMatch(/Send text unencrypted to gpu-box:8000\?/);
    expect(api.calls.some((c) => c.name === "engines.add")).toBe(false);
    await click(byRole(mounted.container, "button", "Add it unencrypted"));
    expect(api.calls.filter((c) => c.name === "engines.add").map((c) => c.input)).toEqual([
      { baseUrl: "http://gpu-box:8000/v1", allowUnencrypted: true },
    ]);
  });

  it("adds an engine on this machine over http without asking, sends the key once and clears the field", async () => {
    const api = enginesApi();
    mounted = await mount(api, createElement(EngineSettings));
    await type(byLabelText(mounted.container, "Engine address"), "http://127.0.0.1:11434/v1");
    await type(byLabelText(mounted.container, "Name"), "ollama");
    const key = byLabelText<HTMLInputElement>(mounted.container, "API key");
    expect(key.type).toBe("password");
    await type(key, "sk-secret");
    await click(byRole(mounted.container, "button", "Add engine"));
    expect(api.calls.filter((c) => c.name === "engines.add").map((c) => c.input)).toEqual([
      { baseUrl: "http://127.0.0.1:11434/v1", name: "ollama", apiKey: "sk-secret" },
    ]);
    expect(byLabelText<HTMLInputElement>(mounted.container, "API key").value).toBe("");
    const listed = byLabel(mounted.container, "Engine ollama");
    expect(listed.textContent).toContain("API key set");
    expect(mounted.container.innerHTML).not.toContain("sk-secret");
  });

  it("shows why an engine could not be added, with its way forward", async () => {
    const api = fakeApi({
      "engines.list": () => ({ engines: [], problem: null }),
      "engines.add": () => {
        throw {
          code: "NETWORK",
          message: "Nothing is listening at 127.0.0.1:8000 (connection refused).",
          hint: "Check that the engine is running.",
        };
      },
    });
    mounted = await mount(api, createElement(EngineSettings));
    await type(byLabelText(mounted.container, "Engine address"), "http://127.0.0.1:8000");
    await click(byRole(mounted.container, "button", "Add engine"));
    const alert = mounted.container.querySelector('[role="alert"]');
    expect(alert?.textContent).toContain("connection refused");
    expect(alert?.textContent).toContain("Check that the engine is running.");
  });
});

describe("where text goes", () => {
  it("the status bar says 'Sent to <host>' while the chat on screen uses a remote model", async () => {
    mounted = await mount(fakeApi({}), createElement(StatusBar));
    expect(mounted.container.textContent).not.toContain("Sent to");
    withRemoteDefault(mounted);
    expect(mounted.container.textContent).toContain("Sent to gpu-box:8000");
    expect(mounted.container.textContent).toContain("gpu/llama-3.1-8b");
    expect(mounted.container.textContent).toContain("/ 8,192");
  });

  it("the status bar names the host of a summary or an answer a remote model is writing", async () => {
    mounted = await mount(fakeApi({}), createElement(StatusBar));
    act(() =>
      mounted?.stores.status.setState({
        status: {
          contractVersion: 1,
          model: {
            state: "ready",
            name: "tiny",
            provider: null,
            providerChoice: "auto",
            threads: null,
            loadMs: 1,
            contextLength: 2048,
            error: null,
          },
          generation: { running: false, waiting: 0 },
          documents: { folders: 0, indexing: false, meaning: { state: "no-model", embedded: 0, total: 0 } },
          remote: { inUse: [{ model: "lab/qwen", host: "lab.example.org" }] },
          home: "/tmp",
        },
      }),
    );
    expect(mounted.container.textContent).toContain("Sent to lab.example.org");
  });

  it("the conversation says where it is sent, and the meter counts against the remote window as an estimate", async () => {
    mounted = await mount(fakeApi({}), createElement(Tooltip.Provider, null, createElement(ChatView)));
    withRemoteDefault(mounted);
    expect(byLabel(mounted.container, "Where this conversation goes").textContent).toMatch(
      /^Sent to gpu-box:8000: this conversation uses gpu\/llama-3\.1-8b/,
    );
    const meter = byLabel(mounted.container, "Context used");
    expect(meter.getAttribute("aria-valuemax")).toBe("8192");
    expect(meter.getAttribute("aria-valuetext")).toMatch(/^about \d+ of 8,192 tokens \(estimated\)$/);
  });
});

describe("the model picker", () => {
  it("lists remote models under their engine and host, and saves the one chosen", async () => {
    const api = fakeApi({});
    mounted = await mount(api, createElement(SettingsDrawer));
    act(() => {
      mounted?.stores.models.setState({
        loaded: true,
        remote: [{ ...remoteModel, isDefault: false }],
        defaultModel: "tiny-instruct",
      });
      mounted?.stores.ui.getState().setDrawerOpen(true);
    });
    const picker = byLabelText<HTMLSelectElement>(mounted.container, "Model");
    const group = picker.querySelector("optgroup");
    expect(group?.getAttribute("label")).toBe("gpu · sent to gpu-box:8000");
    expect([...picker.options].map((o) => o.value)).toEqual(["", "gpu/llama-3.1-8b"]);
    await act(async () => {
      // Through the prototype's setter, as a person's choice would, so React sees the change.
      Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value")?.set?.call(
        picker,
        "gpu/llama-3.1-8b",
      );
      picker.dispatchEvent(new Event("change", { bubbles: true }));
    });
    // The drawer's form submitted as Save does (happy-dom does not submit a form holding range inputs).
    const form = byRole(mounted.container, "button", "Save").closest("form") as HTMLFormElement;
    await act(async () => {
      form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    expect(mounted.stores.chat.getState().draftSettings.model).toBe("gpu/llama-3.1-8b");
  });
});

describe("the first screen", () => {
  it("opens the chat, not the welcome screen, when the only models are a remote engine's", async () => {
    const api = fakeApi({
      "status.get": () => {
        throw { code: "INTERNAL", message: "not needed here" };
      },
      "settings.get": () => {
        throw { code: "INTERNAL", message: "not needed here" };
      },
      "models.catalog": () => ({ entries: [], recommended: "openelm-270m-instruct", embedding: [] }),
      "models.list": () => ({
        models: [],
        broken: [],
        downloads: [],
        remote: [remoteModel],
        defaultModel: remoteModel.name,
        embedding: [],
      }),
      "conversations.list": () => ({ conversations: [], total: 0 }),
      "documents.status": () => ({
        folders: [],
        indexing: false,
        meaning: {
          state: "no-model",
          model: null,
          embedded: 0,
          total: 0,
          chunksPerSecond: null,
          message: null,
        },
      }),
    });
    mounted = await mount(api, createElement(App));
    await act(async () => {});
    expect(mounted.container.querySelector(".welcome")).toBeNull();
    expect(mounted.container.querySelector('section[aria-label="Chat"]')).not.toBeNull();
  });
});
