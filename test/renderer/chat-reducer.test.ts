import { describe, expect, it } from "vitest";
import type { ChatStarted } from "../../engine/api/contract.ts";
import {
  branchPosition,
  type ChatView,
  emptyChat,
  liveTokensPerSecond,
  replyDone,
  replyFailed,
  requestBegun,
  requestStarted,
  type Streaming,
  tokenArrived,
} from "../../renderer/chat/chat-reducer.ts";
import { message } from "./fake-api.ts";

const user = message({ id: "u1", role: "user", content: "Hello" });
const started: ChatStarted = {
  requestId: "r1",
  conversationId: "c1",
  userMessage: user,
  assistantMessageId: "a1",
};
const reply = message({ id: "a1", role: "assistant", content: "Hi there", parentId: "u1" });

describe("chat streaming reducer", () => {
  it("shows the sent text at once, then the saved message once the call answers", () => {
    let view = requestBegun(emptyChat(), "send", { text: "Hello", now: 0 });
    expect(view.pendingUser).toBe("Hello");
    view = requestStarted(view, started);
    expect(view.pendingUser).toBeNull();
    expect(view.messages.map((m) => m.id)).toEqual(["u1"]);
    expect(view.streaming?.messageId).toBe("a1");
  });

  it("appends each token's text to the reply in flight", () => {
    let view = requestStarted(requestBegun(emptyChat(), "send", { text: "Hello", now: 0 }), started);
    for (const [i, delta] of ["Hi", " there", "!"].entries()) {
      view = tokenArrived(view, { requestId: "r1", delta, tokens: i + 1 }, 10 * (i + 1));
    }
    expect(view.streaming?.text).toBe("Hi there!");
    expect(view.streaming?.tokens).toBe(3);
  });

  it("keeps tokens that arrive before the starting call answers and shows them once it does", () => {
    let view = requestBegun(emptyChat(), "send", { text: "Hello", now: 0 });
    view = tokenArrived(view, { requestId: "r1", delta: "Hi", tokens: 1 }, 1);
    view = tokenArrived(view, { requestId: "r1", delta: " there", tokens: 2 }, 2);
    view = requestStarted(view, started);
    expect(view.streaming?.text).toBe("Hi there");
  });

  it("settles a reply whose done event overtook the starting call", () => {
    let view = requestBegun(emptyChat(), "send", { text: "Hello", now: 0 });
    view = replyDone(view, { requestId: "r1", message: reply });
    view = requestStarted(view, started);
    expect(view.streaming).toBeNull();
    expect(view.messages.map((m) => m.content)).toEqual(["Hello", "Hi there"]);
  });

  it("ignores tokens of another request", () => {
    let view = requestStarted(requestBegun(emptyChat(), "send", { text: "Hello", now: 0 }), started);
    view = tokenArrived(view, { requestId: "other", delta: "noise", tokens: 1 }, 1);
    expect(view.streaming?.text).toBe("");
  });

  it("replaces the stream with the saved message when the reply is done", () => {
    let view = requestStarted(requestBegun(emptyChat(), "send", { text: "Hello", now: 0 }), started);
    view = tokenArrived(view, { requestId: "r1", delta: "Hi there", tokens: 2 }, 1);
    view = replyDone(view, { requestId: "r1", message: reply });
    expect(view.streaming).toBeNull();
    expect(view.messages.at(-1)).toEqual(reply);
  });

  it("keeps the user message and says what failed when the reply fails", () => {
    let view = requestStarted(requestBegun(emptyChat(), "send", { text: "Hello", now: 0 }), started);
    view = replyFailed(view, {
      requestId: "r1",
      error: { code: "MODEL", message: "The model failed to load.", hint: "Reinstall it." },
    });
    expect(view.streaming).toBeNull();
    expect(view.messages.map((m) => m.id)).toEqual(["u1"]);
    expect(view.failure?.error.code).toBe("MODEL");
  });

  it("measures live speed from the first token, not from the request", () => {
    let view = requestStarted(requestBegun(emptyChat(), "send", { text: "Hello", now: 0 }), started);
    view = tokenArrived(view, { requestId: "r1", delta: "a", tokens: 1 }, 5_000);
    view = tokenArrived(view, { requestId: "r1", delta: "b", tokens: 11 }, 6_000);
    expect(liveTokensPerSecond(view.streaming as Streaming)).toBeCloseTo(10);
  });
});

describe("branches", () => {
  const first = message({ id: "a1", role: "assistant", content: "One", parentId: "u1", siblingIds: ["a1"] });

  it("regenerating hides the old reply and counts the new one as the next alternative", () => {
    let view: ChatView = { ...emptyChat(), conversationId: "c1", messages: [user, first] };
    view = requestBegun(view, "regenerate", { anchorId: "a1", now: 0 });
    expect(view.messages.map((m) => m.id)).toEqual(["u1"]);
    view = requestStarted(view, { ...started, assistantMessageId: "a2" });
    expect(view.streaming?.siblingIds).toEqual(["a1", "a2"]);
    expect(view.messages.map((m) => m.id)).toEqual(["u1"]);
  });

  it("writing a reply to a question left without one keeps the question and puts the reply under it", () => {
    let view: ChatView = { ...emptyChat(), conversationId: "c1", messages: [user] };
    view = requestBegun(view, "regenerate", { anchorId: "u1", now: 0 });
    expect(view.messages.map((m) => m.id)).toEqual(["u1"]);
    expect(view.streaming?.parentId).toBe("u1");
    view = requestStarted(view, { ...started, assistantMessageId: "a2" });
    expect(view.streaming?.siblingIds).toEqual(["a2"]);
    const reply = message({
      id: "a2",
      role: "assistant",
      content: "Hi!",
      parentId: "u1",
      siblingIds: ["a2"],
    });
    view = replyDone(view, { requestId: started.requestId, message: reply });
    expect(view.messages.map((m) => m.id)).toEqual(["u1", "a2"]);
  });

  it("editing an earlier message cuts the branch there and continues from the new version", () => {
    const later = message({ id: "u2", role: "user", content: "More", parentId: "a1" });
    let view: ChatView = { ...emptyChat(), conversationId: "c1", messages: [user, first, later] };
    view = requestBegun(view, "edit", { anchorId: "u1", text: "Hello again", now: 0 });
    expect(view.messages).toEqual([]);
    const edited = message({
      id: "u3",
      role: "user",
      content: "Hello again",
      siblingIds: ["u1", "u3"],
      siblingIndex: 1,
    });
    view = requestStarted(view, { ...started, userMessage: edited, assistantMessageId: "a3" });
    expect(view.messages.map((m) => m.id)).toEqual(["u3"]);
  });

  it('reads "2/3" with both neighbours for the middle alternative', () => {
    const position = branchPosition({ id: "b", siblingIds: ["a", "b", "c"], siblingIndex: 1 });
    expect(position).toEqual({ index: 1, count: 3, previousId: "a", nextId: "c" });
  });

  it("has no neighbour past either end", () => {
    expect(branchPosition({ id: "a", siblingIds: ["a", "b"], siblingIndex: 0 }).previousId).toBeNull();
    expect(branchPosition({ id: "b", siblingIds: ["a", "b"], siblingIndex: 1 }).nextId).toBeNull();
  });
});
