// @vitest-environment happy-dom
/** useChatPerFrame: a streaming reply re-renders its readers once a frame, its start and end at once. */
import { act, createElement } from "react";
import { afterEach, describe, expect, it } from "vitest";
import type { Streaming } from "../../renderer/chat/chat-reducer.ts";
import { useChatPerFrame } from "../../renderer/stores/stores.tsx";
import { type Mounted, mount } from "./dom.tsx";
import { fakeApi } from "./fake-api.ts";

let renders = 0;
function Probe() {
  renders++;
  const streaming = useChatPerFrame((s) => s.streaming);
  return createElement("p", { "data-testid": "probe" }, streaming === null ? "(none)" : streaming.text);
}

const reply = (text: string): Streaming => ({
  kind: "send",
  requestId: "r1",
  messageId: "a1",
  parentId: "u1",
  siblingIds: [],
  text,
  tokens: text.length,
  startedAt: 0,
  firstTokenAt: 0,
  lastTokenAt: 0,
  stopping: false,
});

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

let view: Mounted | undefined;
afterEach(() => {
  view?.unmount();
  view = undefined;
});

describe("useChatPerFrame", () => {
  it("renders many token updates in one frame once, and a reply's start and end at once", async () => {
    view = await mount(fakeApi({}), createElement(Probe));
    const { chat } = view.stores;
    const shown = () => view?.container.querySelector('[data-testid="probe"]')?.textContent;
    expect(shown()).toBe("(none)");

    renders = 0;
    act(() => chat.setState({ streaming: reply("O") }));
    expect(shown()).toBe("O"); // the reply appearing is not held back
    expect(renders).toBe(1);

    renders = 0;
    act(() => {
      for (const text of ["On", "Onc", "Once", "Once u", "Once up"])
        chat.setState({ streaming: reply(text) });
    });
    expect(shown()).toBe("O"); // still the last frame's text
    await act(nextFrame);
    expect(shown()).toBe("Once up");
    expect(renders).toBe(1);

    act(() => chat.setState({ streaming: reply("Once upon") }));
    act(() => chat.setState({ streaming: null }));
    expect(shown()).toBe("(none)"); // the reply ending shows at once, with no stale frame after it
    await act(nextFrame);
    expect(shown()).toBe("(none)");
  });
});
