// @vitest-environment happy-dom
import { act, createElement } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ChatStarted, MeaningStatus, SearchHit } from "../../engine/api/contract.ts";
import { Composer } from "../../renderer/chat/Composer.tsx";
import { Markdown } from "../../renderer/components/Markdown.tsx";
import { SearchView } from "../../renderer/search/SearchView.tsx";
import { StorageSettings } from "../../renderer/settings/StorageSettings.tsx";
import { byLabel, byLabelText, byRole, click, type Mounted, mount, press, type } from "./dom.tsx";
import { fakeApi, message } from "./fake-api.ts";

let mounted: Mounted | undefined;
afterEach(() => {
  mounted?.unmount();
  mounted = undefined;
});

function chatApi() {
  const user = message({ id: "u1", role: "user", content: "Hi" });
  const started: ChatStarted = {
    requestId: "r1",
    conversationId: "c1",
    userMessage: user,
    assistantMessageId: "a1",
  };
  return fakeApi({
    "chat.send": () => started,
    "chat.stop": () => ({ stopped: true }),
    "conversations.get": () => {
      throw { code: "NOT_FOUND", message: "gone" };
    },
  });
}

describe("the message box", () => {
  it("is a textbox named Message with a button named Send", async () => {
    mounted = await mount(chatApi(), createElement(Composer));
    expect(byLabel(mounted.container, "Message").tagName).toBe("TEXTAREA");
    expect(byLabel(mounted.container, "Send").tagName).toBe("BUTTON");
  });

  it("sends on Enter and clears itself", async () => {
    const api = chatApi();
    mounted = await mount(api, createElement(Composer));
    const box = byLabel<HTMLTextAreaElement>(mounted.container, "Message");
    await type(box, "Hi");
    await press(box, "Enter");
    expect(api.calls.filter((c) => c.name === "chat.send").map((c) => c.input)).toEqual([{ content: "Hi" }]);
    expect(box.value).toBe("");
  });

  it("hands the draft to chat.prepare in an open conversation, and not once Read ahead is off", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      const user = message({ id: "u1", role: "user", content: "Hi" });
      const reply = message({ id: "a1", role: "assistant", content: "Hello", parentId: "u1" });
      const api = fakeApi({
        "conversations.get": () => ({
          id: "c1",
          title: "Hi",
          model: null,
          createdAt: 0,
          updatedAt: 0,
          messageCount: 2,
          settings: {
            systemPrompt: "",
            model: null,
            sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, maxTokens: 8 },
          },
          activeLeafId: "a1",
          messages: [user, reply],
        }),
        "chat.prepare": () => ({ prepared: true }),
      });
      mounted = await mount(api, createElement(Composer));
      const view = mounted;
      await act(() => view.stores.chat.getState().open("c1"));
      const box = byLabel<HTMLTextAreaElement>(view.container, "Message");
      const prepared = () => api.calls.filter((c) => c.name === "chat.prepare").map((c) => c.input);

      await type(box, "What next?");
      await act(async () => vi.advanceTimersByTime(0));
      expect(prepared()).toEqual([{ conversationId: "c1", content: "What next?", parentId: "a1" }]);

      const { settings } = view.stores.settings.getState();
      act(() => view.stores.settings.setState({ settings: { ...settings, readAhead: false } as never }));
      await type(box, "What next, then?");
      await act(async () => vi.advanceTimersByTime(2_000));
      expect(prepared()).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps Shift+Enter for a new line instead of sending", async () => {
    const api = chatApi();
    mounted = await mount(api, createElement(Composer));
    const box = byLabel<HTMLTextAreaElement>(mounted.container, "Message");
    await type(box, "line one");
    await press(box, "Enter", { shiftKey: true });
    expect(api.calls.some((c) => c.name === "chat.send")).toBe(false);
  });

  it("turns Send into Stop while the reply streams, and Escape stops it", async () => {
    const api = chatApi();
    mounted = await mount(api, createElement(Composer));
    const box = byLabel<HTMLTextAreaElement>(mounted.container, "Message");
    await type(box, "Hi");
    await press(box, "Enter");
    expect(byLabel(mounted.container, "Stop").tagName).toBe("BUTTON");
    await press(box, "Escape");
    expect(api.calls.filter((c) => c.name === "chat.stop").map((c) => c.input)).toEqual([
      { requestId: "r1" },
    ]);
    await act(async () =>
      api.emit("chat.done", {
        requestId: "r1",
        conversationId: "c1",
        message: message({ id: "a1", role: "assistant", content: "Hel" }),
      }),
    );
    expect(byLabel(mounted.container, "Send").tagName).toBe("BUTTON");
  });

  it("warns under the box when the oldest messages would no longer fit", async () => {
    mounted = await mount(chatApi(), createElement(Composer));
    const box = byLabel<HTMLTextAreaElement>(mounted.container, "Message");
    // Alone, a message this long cannot fit beside a 512-token reply in 2048 tokens.
    await type(box, "word ".repeat(1200));
    expect(mounted.container.querySelector('[role="alert"]')?.textContent).toMatch(
      /do not fit the 2048-token window/,
    );
  });
});

describe("replies as Markdown", () => {
  it("highlights a fenced code block and offers to copy it", async () => {
    mounted = await mount(
      fakeApi({}),
      createElement(Markdown, { text: "Try:\n\n```js\nconst answer = 42;\n```" }),
    );
    const block = mounted.container.querySelector("figure.code-block");
    expect(block?.querySelector("figcaption")?.textContent).toContain("js");
    expect(block?.querySelector(".hljs-keyword")?.textContent).toBe("const");
    const copied: string[] = [];
    Object.defineProperty(navigator, "clipboard", {
      value: { writeText: async (t: string) => void copied.push(t) },
      configurable: true,
    });
    await click(byLabel(mounted.container, "Copy code"));
    expect(copied).toEqual(["const answer = 42;"]);
  });

  it("shows raw HTML in a reply as text, never as markup", async () => {
    mounted = await mount(
      fakeApi({}),
      createElement(Markdown, { text: 'Hi <img src=x onerror="alert(1)"> there' }),
    );
    expect(mounted.container.querySelector("img")).toBeNull();
  });
});

describe("opening a search result", () => {
  const NO_MEANING: MeaningStatus = {
    state: "no-model",
    model: null,
    embedded: 0,
    total: 0,
    chunksPerSecond: null,
    message: null,
  };
  const pdfHit: SearchHit = {
    chunkId: 7,
    path: "/home/ann/papers/paper.pdf",
    kind: "pdf",
    location: "page 12",
    page: 12,
    lines: null,
    score: 1,
    snippet: "quince trees",
    highlights: [[0, 6]],
    text: "quince trees",
    modifiedMs: 0,
    matched: "words",
    similarity: null,
  };

  function searchApi(jumped: boolean) {
    return fakeApi({
      "documents.status": () => ({ folders: [], indexing: false, meaning: NO_MEANING }),
      "documents.search": () => ({
        query: "quince",
        partial: false,
        match: "quince",
        hits: [pdfHit],
        tookMs: 1,
        mode: "words",
        meaning: NO_MEANING,
      }),
      "documents.open": (input) => ({
        opened: true,
        atPage: input.page ? { page: input.page, jumped } : null,
      }),
    });
  }

  // The search box waits for a pause in typing: on fake timeouts, the pause passes when the test says.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function typeQuery(view: Mounted, text: string) {
    await type(byLabel<HTMLInputElement>(view.container, "Search documents"), text);
    await act(() => vi.advanceTimersByTimeAsync(200));
  }

  it("asks for a PDF's page, and says so when the viewer opened it without jumping there", async () => {
    const api = searchApi(false);
    mounted = await mount(api, createElement(SearchView));
    await typeQuery(mounted, "quince");
    await click(byLabel(mounted.container, "Open paper.pdf at page 12"));
    expect(api.calls.filter((c) => c.name === "documents.open").map((c) => c.input)).toEqual([
      { path: pdfHit.path, reveal: false, page: 12 },
    ]);
    expect(mounted.stores.toasts.getState().toasts.map((t) => t.title)).toEqual([
      "Opened paper.pdf; your viewer cannot jump to page 12.",
    ]);
  });

  it("says nothing more when the viewer went to the page, and reveals without a page", async () => {
    const api = searchApi(true);
    mounted = await mount(api, createElement(SearchView));
    await typeQuery(mounted, "quince");
    await click(byLabel(mounted.container, "Open paper.pdf at page 12"));
    expect(mounted.stores.toasts.getState().toasts).toEqual([]);
    const reveal = byLabel(mounted.container, "Show in folder: paper.pdf");
    // The accessible name begins with the visible text (WCAG 2.5.3, label in name).
    expect(reveal.textContent).toBe("Show in folder");
    await click(reveal);
    expect(api.calls.filter((c) => c.name === "documents.open").at(-1)?.input).toEqual({
      path: pdfHit.path,
      reveal: true,
    });
  });
});

describe("moving the models folder from Settings", () => {
  const info = {
    dataFolder: "/home/ann/.local/share/elmwood",
    dataFolderFromEnvironment: false,
    modelsFolder: "/home/ann/.local/share/elmwood",
    modelsPath: "/home/ann/.local/share/elmwood/models",
    downloadsPath: "/home/ann/.local/share/elmwood/downloads",
    moving: null,
    problem: null,
    dataFolderMovable: true,
    dataFolderProblem: null,
    dataMove: null,
    dataMoved: null,
  };

  function storageApi() {
    return fakeApi({
      "storage.get": () => info,
      "storage.inspect": ({ path }) => ({
        path,
        state: "missing",
        sameDisk: false,
        neededBytes: 3_000_000_000,
        freeBytes: 50_000_000_000,
        summary: "The folder will be created, and the models moved into it.",
      }),
      "storage.moveModels": () => ({ jobId: "move1" }),
      "storage.cancelMove": () => ({ cancelled: true }),
    });
  }

  it("checks a typed folder, moves there with progress and Cancel, and says where the models are", async () => {
    const api = storageApi();
    mounted = await mount(api, createElement(StorageSettings));
    const container = mounted.container;
    expect(container.textContent).toContain("ELMWOOD_HOME");
    await type(byLabelText(container, "New models folder"), "/mnt/big/models");
    await click(byRole(container, "button", "Check folder"));
    expect(container.querySelector('[role="status"]')?.textContent).toContain(
      "The folder will be created, and the models moved into it.",
    );
    await click(byRole(container, "button", "Move models here"));
    expect(api.calls.find((c) => c.name === "storage.moveModels")?.input).toEqual({
      path: "/mnt/big/models",
      mode: "move",
    });

    await act(async () =>
      api.emit("storage.progress", {
        jobId: "move1",
        target: "/mnt/big/models",
        event: { type: "progress", phase: "copying", doneBytes: 1_500_000_000, totalBytes: 3_000_000_000 },
      }),
    );
    const bar = byLabel<HTMLProgressElement>(container, "Moving the models folder to /mnt/big/models");
    expect(bar.value).toBe(0.5);
    expect(container.textContent).toContain("Copying 1.50 GB of 3.00 GB");
    await click(byRole(container, "button", "Cancel move"));
    expect(api.calls.find((c) => c.name === "storage.cancelMove")?.input).toEqual({ jobId: "move1" });

    await act(async () =>
      api.emit("storage.progress", {
        jobId: "move1",
        target: "/mnt/big/models",
        event: {
          type: "done",
          method: "copy",
          bytes: 3_000_000_000,
          leftBehind: null,
          storage: { ...info, modelsFolder: "/mnt/big/models" },
        },
      }),
    );
    expect(container.textContent).toContain("The models are in /mnt/big/models now.");
    expect([...container.querySelectorAll("dd code")].map((c) => c.textContent)).toEqual([
      info.dataFolder,
      "/mnt/big/models",
    ]);
  });

  it("says nothing moved when a move was cancelled", async () => {
    const api = storageApi();
    mounted = await mount(api, createElement(StorageSettings));
    await act(async () =>
      api.emit("storage.progress", {
        jobId: "move1",
        target: "/mnt/big/models",
        event: { type: "failed", error: { code: "CANCELLED", message: "Moving was cancelled." } },
      }),
    );
    expect(mounted.container.querySelector('[role="alert"]')?.textContent).toContain(
      "Nothing was moved; the models are where they were.",
    );
  });
});
