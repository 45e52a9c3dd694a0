// @vitest-environment happy-dom
/**
 * The sidebar's search results with marked words, export and import from the sidebar, and a reply
 * shown as interrupted with its way forward; against a fake door.
 */
import * as Tooltip from "@radix-ui/react-tooltip";
import { act, createElement, type ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Conversation, ConversationHit, Message } from "../../engine/api/contract.ts";
import { interruption } from "../../engine/chat/interruption.ts";
import { ChatView } from "../../renderer/chat/ChatView.tsx";
import { MessageItem } from "../../renderer/chat/MessageItem.tsx";
import { ConversationList } from "../../renderer/conversations/ConversationList.tsx";
import { saveFile } from "../../renderer/lib/save-file.ts";
import { byLabel, click, type Mounted, mount, type } from "./dom.tsx";
import { fakeApi, message, settle } from "./fake-api.ts";

let mounted: Mounted | undefined;
afterEach(() => {
  mounted?.unmount();
  mounted = undefined;
});

const withTooltips = (view: ReactNode) => createElement(Tooltip.Provider, null, view);

const sampling = { temperature: 0.7, topP: 0.9, topK: 40, minP: 0, repetitionPenalty: 1.2, maxTokens: 512 };

function conversation(id: string, title: string, messages: Message[] = []): Conversation {
  return {
    id,
    title,
    model: null,
    createdAt: 0,
    updatedAt: Date.now(),
    messageCount: messages.length,
    settings: { systemPrompt: "", sampling, model: null },
    activeLeafId: messages.at(-1)?.id ?? null,
    messages,
  };
}

describe("a reply that was interrupted", () => {
  const cut = message({
    id: "a1",
    role: "assistant",
    content: "Elms are",
    interruption: interruption("model-switched", "tiny-two"),
  });

  it("says what happened, where it ends, and offers to regenerate it", async () => {
    const api = fakeApi({
      "chat.regenerate": () => ({
        requestId: "r2",
        conversationId: "c1",
        userMessage: message({ id: "u1", role: "user", content: "Elms?" }),
        assistantMessageId: "a2",
      }),
    });
    mounted = await mount(api, withTooltips(createElement(MessageItem, { message: cut, busy: false })));
    mounted.stores.chat.setState({ conversationId: "c1", messages: [cut] });
    const note = byLabel(mounted.container, "Interrupted reply");
    expect(note.getAttribute("role")).toBe("note");
    expect(note.textContent).toContain(
      "Interrupted: the model was switched to tiny-two while this reply was being written.",
    );
    const regenerate = [...note.querySelectorAll("button")].find((b) => b.textContent === "Regenerate");
    if (!regenerate) throw new Error("no Regenerate button");
    await click(regenerate);
    expect(api.calls.filter((c) => c.name === "chat.regenerate").map((c) => c.input)).toEqual([
      { conversationId: "c1", messageId: "a1" },
    ]);
  });

  it("is announced with a toast when a model change cut it short, wherever the person is", async () => {
    const api = fakeApi({});
    mounted = await mount(api, createElement("div"));
    await act(async () => api.emit("chat.done", { requestId: "r1", conversationId: "c1", message: cut }));
    expect(mounted.stores.toasts.getState().toasts).toMatchObject([
      { title: "A reply was interrupted", description: cut.interruption?.message },
    ]);
  });
});

describe("a question left without a reply", () => {
  it("says so under it and offers to write the reply, under that same question", async () => {
    const question = message({ id: "u1", role: "user", content: "Elms?" });
    const api = fakeApi({
      "conversations.get": () => conversation("c1", "Elms?", [question]),
      "chat.regenerate": () => ({
        requestId: "r2",
        conversationId: "c1",
        userMessage: question,
        assistantMessageId: "a2",
      }),
    });
    mounted = await mount(api, withTooltips(createElement(ChatView)));
    await act(async () => mounted?.stores.chat.getState().open("c1"));
    const note = byLabel(mounted.container, "No reply");
    expect(note.textContent).toContain("No reply was written to this message.");
    const write = [...note.querySelectorAll("button")].find((b) => b.textContent === "Write a reply");
    if (!write) throw new Error("no Write a reply button");
    await click(write);
    expect(api.calls.filter((c) => c.name === "chat.regenerate").map((c) => c.input)).toEqual([
      { conversationId: "c1", messageId: "u1" },
    ]);
    // While it is written the question stays and the note goes.
    expect(mounted.container.querySelector('[aria-label="No reply"]')).toBeNull();
    expect(mounted.container.querySelectorAll('[aria-label="You said"]')).toHaveLength(1);
  });
});

describe("the sidebar's conversations", () => {
  const hit: ConversationHit = {
    conversationId: "c1",
    title: "Trees by the river",
    messageId: "m1",
    snippet: "…the willow by the river bends…",
    highlights: [[5, 11]],
    titleHighlights: [[13, 18]],
    updatedAt: 0,
  };

  function sidebarApi(extra: Parameters<typeof fakeApi>[0] = {}) {
    return fakeApi({
      "conversations.list": () => ({ conversations: [conversation("c1", "Trees by the river")], total: 1 }),
      "conversations.search": () => ({ hits: [hit] }),
      ...extra,
    });
  }

  it("searches as you type (the last word a prefix) and marks the matched words", async () => {
    const api = sidebarApi();
    mounted = await mount(api, withTooltips(createElement(ConversationList)));
    await type(byLabel<HTMLInputElement>(mounted.container, "Search conversations"), "wil");
    // The box waits for a pause in typing before it searches.
    await expect
      .poll(() => mounted?.container.querySelector('[aria-label="Conversations found"]'))
      .toBeTruthy();
    expect(api.calls.filter((c) => c.name === "conversations.search").map((c) => c.input)).toEqual([
      { query: "wil", limit: 50, asYouType: true },
    ]);
    const found = byLabel(mounted.container, "Conversations found");
    expect([...found.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["river", "willow"]);
  });

  it("imports a chosen JSON file, opens the conversation and says what changed", async () => {
    const imported = conversation("c9", "Hedges", [message({ id: "x1", role: "user", content: "Hedge?" })]);
    const api = sidebarApi({
      "conversations.import": () => ({ conversation: imported, notes: ["The model was not installed."] }),
      "conversations.get": () => imported,
    });
    mounted = await mount(api, withTooltips(createElement(ConversationList)));
    const input = byLabel<HTMLInputElement>(mounted.container, "Conversation file to import");
    const file = new File(['{"format":"elmwood.conversation"}'], "hedges.json", { type: "application/json" });
    Object.defineProperty(input, "files", { value: [file], configurable: true });
    await act(async () => {
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await settle();
    expect(api.calls.find((c) => c.name === "conversations.import")?.input).toEqual({
      content: '{"format":"elmwood.conversation"}',
    });
    expect(mounted.stores.chat.getState().conversationId).toBe("c9");
    expect(mounted.stores.toasts.getState().toasts.at(-1)).toMatchObject({
      title: "Imported “Hedges”",
      description: "The model was not installed.",
    });
  });

  it("shows why an import was refused, with a way to dismiss it", async () => {
    const api = sidebarApi({
      "conversations.import": () => {
        throw {
          code: "BAD_INPUT",
          message: "This is not an Elmwood conversation.",
          hint: "Choose a JSON export.",
        };
      },
    });
    mounted = await mount(api, withTooltips(createElement(ConversationList)));
    const input = byLabel<HTMLInputElement>(mounted.container, "Conversation file to import");
    Object.defineProperty(input, "files", { value: [new File(["[]"], "x.json")], configurable: true });
    await act(async () => {
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await settle();
    const alert = mounted.container.querySelector('[role="alert"]');
    expect(alert?.textContent).toContain("This is not an Elmwood conversation.");
    expect(alert?.textContent).toContain("Choose a JSON export.");
  });
});

describe("saving an exported file", () => {
  const file = { filename: "Trees.md", mimeType: "text/markdown", content: "# Trees\n" };

  it("in a browser, downloads it under its name", async () => {
    const clicked: { download: string; href: string }[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicked.push({ download: this.download, href: this.href });
    });
    expect(await saveFile(file, {})).toBe(true);
    click.mockRestore();
    expect(clicked).toHaveLength(1);
    expect(clicked[0].download).toBe("Trees.md");
    expect(clicked[0].href).toMatch(/^blob:/);
    expect(document.querySelector("a[download]")).toBeNull();
  });

  it("in the desktop app, hands it to the save dialog and reports a cancel", async () => {
    const saveFileDialog = vi.fn(async () => ({ saved: false }));
    expect(await saveFile(file, { saveFile: saveFileDialog })).toBe(false);
    expect(saveFileDialog).toHaveBeenCalledWith(file);
  });
});
