// @vitest-environment happy-dom
/**
 * Chat grounded in documents on screen: a reply's [n] links to its passage, the passages can be read
 * and removed, attaching to a chat not started yet makes it a conversation first, and search hits say
 * whether their words, their meaning or both matched.
 */
import * as Tooltip from "@radix-ui/react-tooltip";
import { act, createElement, type ReactNode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import type { CitedChunk, Conversation, MeaningStatus, SearchResult } from "../../engine/api/contract.ts";
import { AttachButton, AttachmentBar } from "../../renderer/chat/Attachments.tsx";
import { linkCitations } from "../../renderer/chat/citations.ts";
import { MessageItem } from "../../renderer/chat/MessageItem.tsx";
import { SearchView } from "../../renderer/search/SearchView.tsx";
import { byLabel, click, type Mounted, mount, type } from "./dom.tsx";
import { fakeApi, message } from "./fake-api.ts";

/** Icon buttons name themselves through tooltips, which need their provider above them. */
const withTooltips = (...children: ReactNode[]) => createElement(Tooltip.Provider, null, ...children);

let mounted: Mounted | undefined;
afterEach(() => {
  mounted?.unmount();
  mounted = undefined;
});

const source = (n: number, fields: Partial<CitedChunk> = {}): CitedChunk => ({
  n,
  chunkId: n,
  path: `/docs/bills/${n === 1 ? "march" : "phone"}.txt`,
  location: n === 1 ? "" : "page 2",
  snippet: "The billing statement…",
  text: `Passage ${n}: the billing statement is due on the fifth.`,
  cited: n === 1,
  excluded: false,
  ...fields,
});

describe("citations in a reply", () => {
  it("links each [n] the reply was given to its passage, and leaves others and code alone", () => {
    expect(linkCitations("Due on the fifth [1]. Also [2][3].", "m1", 2)).toBe(
      "Due on the fifth [\\[1\\]](#source-m1-1). Also [\\[2\\]](#source-m1-2)[3].",
    );
    expect(linkCitations("See [1, 2].", "m1", 2)).toBe(
      "See [\\[1\\]](#source-m1-1) [\\[2\\]](#source-m1-2).",
    );
    expect(linkCitations("```\nx[1]\n```", "m1", 2)).toBe("```\nx[1]\n```");
    expect(linkCitations("a [link](http://x) [1]", "m1", 0)).toBe("a [link](http://x) [1]");
  });

  it("shows the passages a reply used; its [1] opens the first, which can be removed", async () => {
    const reply = message({
      id: "a1",
      role: "assistant",
      content: "The statement is due on the fifth [1].",
      sources: [source(1), source(2)],
    });
    const api = fakeApi({
      "conversations.excludeSource": (input) => ({
        sources: [source(1, { excluded: input.n === 1 }), source(2)],
      }),
    });
    mounted = await mount(api, withTooltips(createElement(MessageItem, { message: reply, busy: false })));
    const { container, stores } = mounted;
    stores.grounding.setState({ conversationId: "c1" });
    const sources = byLabel(container, "Sources used");
    expect(sources.querySelectorAll("li")).toHaveLength(2);
    expect(sources.textContent).toContain("phone.txt · page 2");
    expect(sources.textContent).toContain("not cited");
    const link = container.querySelector<HTMLAnchorElement>('a[href="#source-a1-1"]');
    expect(link?.textContent).toBe("[1]");
    const first = container.querySelector<HTMLDetailsElement>("#source-a1-1");
    expect(first?.open).toBe(false);
    await click(link as HTMLAnchorElement);
    expect(first?.open).toBe(true);
    expect(first?.textContent).toContain("Passage 1: the billing statement");
    await click(byLabel(container, "Remove source 1, march.txt, from this conversation"));
    expect(api.calls.find((c) => c.name === "conversations.excludeSource")?.input).toEqual({
      id: "c1",
      messageId: "a1",
      n: 1,
    });
    expect(container.querySelector("#source-a1-1")?.textContent).toContain("Removed");
  });
});

describe("attaching documents", () => {
  it("makes a chat not started yet a conversation, then attaches the folder and lists it", async () => {
    const conversation: Conversation = {
      id: "c9",
      title: "",
      model: null,
      createdAt: 0,
      updatedAt: 0,
      messageCount: 0,
      settings: {
        systemPrompt: "",
        sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, maxTokens: 8 },
        model: null,
      },
      activeLeafId: null,
      messages: [],
      attachments: [],
    };
    const api = fakeApi({
      "conversations.create": () => conversation,
      "conversations.get": () => conversation,
      "conversations.attach": (input) => ({
        attachments: [{ path: input.path, kind: "folder", addedAt: 1 }],
      }),
      "conversations.detach": () => ({ attachments: [] }),
    });
    mounted = await mount(api, withTooltips(createElement(AttachButton), createElement(AttachmentBar)));
    const { container } = mounted;
    await click(byLabel(container, "Attach documents to this chat"));
    const field = container.querySelector<HTMLInputElement>("dialog input");
    if (!field) throw new Error("the dialog should ask for a path");
    await type(field, "/home/me/bills");
    await click(
      [...document.querySelectorAll("button")].find((b) => b.textContent === "Attach") as HTMLButtonElement,
    );
    await act(async () => {});
    expect(api.calls.map((c) => c.name)).toEqual(
      expect.arrayContaining(["conversations.create", "conversations.attach"]),
    );
    expect(api.calls.find((c) => c.name === "conversations.attach")?.input).toEqual({
      id: "c9",
      path: "/home/me/bills",
    });
    const list = byLabel(container, "Documents this conversation draws on");
    expect(list.textContent).toContain("bills");
    await click(byLabel(container, "Stop drawing on bills"));
    expect(container.textContent).not.toContain("bills");
  });
});

describe("search by meaning on the Search page", () => {
  const meaning = (fields: Partial<MeaningStatus>): MeaningStatus => ({
    state: "ready",
    model: "m",
    embedded: 2,
    total: 2,
    chunksPerSecond: null,
    message: null,
    ...fields,
  });
  const result = (mode: SearchResult["mode"], status: MeaningStatus): SearchResult => ({
    query: "invoice",
    partial: false,
    match: '"invoice"',
    tookMs: 3,
    mode,
    meaning: status,
    hits: [
      {
        chunkId: 1,
        path: "/docs/march.txt",
        kind: "text",
        location: "",
        page: null,
        lines: null,
        score: 1,
        matched: "meaning",
        similarity: 0.8,
        snippet: "Your billing statement",
        highlights: [],
        text: "Your billing statement",
        modifiedMs: 0,
      },
    ],
  });

  it("says which side found each hit", async () => {
    const api = fakeApi({
      "documents.status": () => ({ folders: [], indexing: false, meaning: meaning({}) }),
      "documents.search": () => result("hybrid", meaning({})),
    });
    mounted = await mount(api, createElement(SearchView));
    await type(byLabel<HTMLInputElement>(mounted.container, "Search documents"), "invoice");
    await act(() => new Promise((r) => setTimeout(r, 80)));
    expect(mounted.container.querySelector(".search-hit")?.textContent).toContain("Meaning");
  });

  it("says when search goes by words only, and where to get the model", async () => {
    const api = fakeApi({
      "documents.status": () => ({ folders: [], indexing: false, meaning: meaning({ state: "no-model" }) }),
      "documents.search": () => result("words", meaning({ state: "no-model", embedded: 0 })),
    });
    mounted = await mount(api, createElement(SearchView));
    await type(byLabel<HTMLInputElement>(mounted.container, "Search documents"), "invoice");
    await act(() => new Promise((r) => setTimeout(r, 80)));
    expect(mounted.container.textContent).toContain("Searching by words only");
    expect(
      [...mounted.container.querySelectorAll("button")].some((b) => b.textContent === "Open Models"),
    ).toBe(true);
  });
});
