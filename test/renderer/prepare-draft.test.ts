// @vitest-environment happy-dom
/** usePrepareDraft: the draft reaches chat.prepare throttled while typing, and once after a reply. */
import { act, createElement } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PREPARE_EVERY_MS, usePrepareDraft } from "../../renderer/chat/use-prepare-draft.ts";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const prepared: string[] = [];
function Probe(props: { draft: string; streaming: boolean }) {
  usePrepareDraft(props.draft, props.streaming, (draft) => prepared.push(draft));
  return null;
}

let root: Root;
const show = (draft: string, streaming = false) =>
  act(() => root.render(createElement(Probe, { draft, streaming })));
const advance = (ms: number) => act(() => vi.advanceTimersByTime(ms));

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  prepared.length = 0;
  root = createRoot(document.createElement("div"));
});
afterEach(() => {
  act(() => root.unmount());
  vi.useRealTimers();
});

describe("usePrepareDraft", () => {
  it("prepares nothing for an empty composer, such as a conversation just opened", () => {
    show("");
    advance(PREPARE_EVERY_MS * 4);
    expect(prepared).toEqual([]);
  });

  it("sends the draft at most once an interval while typing, and the last draft once typing stops", () => {
    show("");
    show("H");
    advance(0);
    expect(prepared).toEqual(["H"]); // the first key after a pause goes at once
    for (const draft of ["He", "Hel", "Hell"]) {
      advance(PREPARE_EVERY_MS / 5);
      show(draft);
    }
    expect(prepared).toEqual(["H"]);
    advance(PREPARE_EVERY_MS);
    expect(prepared).toEqual(["H", "Hell"]);
    show("Hello");
    advance(PREPARE_EVERY_MS * 3);
    expect(prepared).toEqual(["H", "Hell", "Hello"]);
  });

  it("waits while a reply streams, then prepares once when it ends, even with nothing typed", () => {
    show("", true);
    show("Next", true);
    advance(PREPARE_EVERY_MS * 2);
    expect(prepared).toEqual([]);
    show("", true);
    show("", false);
    advance(0);
    expect(prepared).toEqual([""]);
  });

  it("sends nothing left pending after the composer is gone", () => {
    show("Hello");
    advance(0);
    show("Hello there");
    act(() => root.unmount());
    root = createRoot(document.createElement("div"));
    advance(PREPARE_EVERY_MS * 2);
    expect(prepared).toEqual(["Hello"]);
  });
});
