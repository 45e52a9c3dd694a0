import { describe, expect, it } from "vitest";
import type { ChatStarted, Conversation, Message } from "../../engine/api/contract.ts";
import { createChatStore } from "../../renderer/stores/chat-store.ts";
import { fakeApi, message, settle, stats } from "./fake-api.ts";

const sampling = { temperature: 0.7, topP: 0.9, topK: 40, minP: 0, repetitionPenalty: 1.2, maxTokens: 512 };

function conversation(messages: Message[]): Conversation {
  return {
    id: "c1",
    title: "Hello",
    model: null,
    createdAt: 0,
    updatedAt: 0,
    messageCount: messages.length,
    settings: { systemPrompt: "", sampling, model: null },
    activeLeafId: messages.at(-1)?.id ?? null,
    messages,
  };
}

function started(user: Message, assistantMessageId: string, requestId = "r1"): ChatStarted {
  return { requestId, conversationId: "c1", userMessage: user, assistantMessageId };
}

describe("chat store", () => {
  it("sends, streams the reply and keeps the saved message, refreshing the list once saved", async () => {
    const user = message({ id: "u1", role: "user", content: "Hi" });
    const changed: string[] = [];
    const api = fakeApi({
      "chat.send": () => started(user, "a1"),
      "conversations.get": () => conversation([user]),
    });
    const store = createChatStore(api.client, {
      defaults: () => null,
      onConversationChanged: (id) => changed.push(id),
    });
    await store.getState().send("Hi");
    api.emit("chat.token", {
      requestId: "r1",
      conversationId: "c1",
      messageId: "a1",
      delta: "Hel",
      tokens: 1,
    });
    api.emit("chat.token", {
      requestId: "r1",
      conversationId: "c1",
      messageId: "a1",
      delta: "lo",
      tokens: 2,
    });
    expect(store.getState().streaming?.text).toBe("Hello");
    const reply = message({
      id: "a1",
      role: "assistant",
      content: "Hello",
      parentId: "u1",
      stats: stats(5, 2),
    });
    api.emit("chat.done", { requestId: "r1", conversationId: "c1", message: reply });
    expect(store.getState().messages.map((m) => m.id)).toEqual(["u1", "a1"]);
    expect(store.getState().streaming).toBeNull();
    await settle();
    expect(store.getState().meta?.title).toBe("Hello");
    expect(changed).toContain("c1");
  });

  it("a new chat sends its drawer settings with the first message", async () => {
    const user = message({ id: "u1", role: "user", content: "Hi" });
    const api = fakeApi({
      "chat.send": () => started(user, "a1"),
      "conversations.get": () => conversation([user]),
    });
    const store = createChatStore(api.client, { defaults: () => null });
    await store.getState().updateSettings({ systemPrompt: "Be brief." });
    await store.getState().send("Hi");
    expect(api.calls.find((c) => c.name === "chat.send")?.input).toEqual({
      content: "Hi",
      settings: { systemPrompt: "Be brief.", sampling: {} },
    });
  });

  it("shows why a send was refused and puts the branch back as it was", async () => {
    const api = fakeApi({
      "chat.send": () => {
        throw {
          code: "NOT_FOUND",
          message: "No model is installed yet.",
          hint: "Download one on the Models page.",
        };
      },
    });
    const store = createChatStore(api.client, { defaults: () => null });
    await store.getState().send("Hi");
    expect(store.getState().failure?.error.code).toBe("NOT_FOUND");
    expect(store.getState().pendingUser).toBeNull();
    expect(store.getState().streaming).toBeNull();
  });

  it("stops the reply in flight by its request id", async () => {
    const user = message({ id: "u1", role: "user", content: "Hi" });
    const api = fakeApi({
      "chat.send": () => started(user, "a1"),
      "conversations.get": () => conversation([user]),
      "chat.stop": () => ({ stopped: true }),
    });
    const store = createChatStore(api.client, { defaults: () => null });
    await store.getState().send("Hi");
    await store.getState().stop();
    expect(api.calls.find((c) => c.name === "chat.stop")?.input).toEqual({ requestId: "r1" });
    expect(store.getState().streaming?.stopping).toBe(true);
  });

  it("hands a draft to chat.prepare under the message on screen, and lets a refusal pass unseen", async () => {
    const user = message({ id: "u1", role: "user", content: "Hi" });
    const reply = message({ id: "a1", role: "assistant", content: "Hello", parentId: "u1" });
    let refuse = false;
    const api = fakeApi({
      "conversations.get": () => conversation([user, reply]),
      "chat.prepare": () => {
        if (refuse) throw new Error("the model store is being moved");
        return { prepared: true };
      },
    });
    const store = createChatStore(api.client, { defaults: () => null });
    // A new chat has no conversation to prepare in.
    await store.getState().prepare("Hello");
    expect(api.calls.filter((c) => c.name === "chat.prepare")).toEqual([]);
    await store.getState().open("c1");
    await store.getState().prepare("And then?");
    expect(api.calls.filter((c) => c.name === "chat.prepare").map((c) => c.input)).toEqual([
      { conversationId: "c1", content: "And then?", parentId: "a1" },
    ]);
    refuse = true;
    await store.getState().prepare("And then what?");
    expect(store.getState().failure).toBeNull();
  });

  it("moves to another version of a message through the engine's branch", async () => {
    const user = message({
      id: "u1",
      role: "user",
      content: "Hi",
      siblingIds: ["u1", "u2"],
      siblingIndex: 0,
    });
    const other = message({
      id: "u2",
      role: "user",
      content: "Hi again",
      siblingIds: ["u1", "u2"],
      siblingIndex: 1,
    });
    const api = fakeApi({
      "conversations.get": () => conversation([user]),
      "chat.switchBranch": ({ messageId }) => conversation([messageId === "u2" ? other : user]),
    });
    const store = createChatStore(api.client, { defaults: () => null });
    await store.getState().open("c1");
    await store.getState().switchBranch("u2");
    expect(store.getState().messages.map((m) => m.content)).toEqual(["Hi again"]);
  });

  it("retries a failed reply by sending the same question again as a new version", async () => {
    const user = message({ id: "u1", role: "user", content: "Hi" });
    const api = fakeApi({
      "chat.send": () => started(user, "a1"),
      "conversations.get": () => conversation([user]),
      "chat.edit": ({ messageId, content }) =>
        started(message({ id: "u2", role: "user", content, siblingIds: [messageId, "u2"] }), "a2", "r2"),
    });
    const store = createChatStore(api.client, { defaults: () => null });
    await store.getState().send("Hi");
    api.emit("chat.error", {
      requestId: "r1",
      conversationId: "c1",
      messageId: null,
      error: { code: "PROVIDER", message: "The GPU failed.", hint: "Use the CPU." },
    });
    expect(store.getState().failure?.error.code).toBe("PROVIDER");
    await store.getState().retry();
    expect(api.calls.at(-1)).toEqual({
      name: "chat.edit",
      input: { conversationId: "c1", messageId: "u1", content: "Hi" },
    });
    expect(store.getState().failure).toBeNull();
  });

  it("stops listening to events once disposed", () => {
    const api = fakeApi({});
    const store = createChatStore(api.client, { defaults: () => null });
    expect(api.listeners("chat.token")).toBe(1);
    store.dispose();
    expect(api.listeners("chat.token")).toBe(0);
  });

  it("keeps a reply streaming while another conversation is open, and shows it on return", async () => {
    const user = message({ id: "u1", role: "user", content: "Hi" });
    const other = { ...conversation([]), id: "c2", title: "Other" };
    const api = fakeApi({
      "chat.send": () => started(user, "a1"),
      "conversations.get": ({ id }) => (id === "c2" ? other : conversation([user])),
    });
    const store = createChatStore(api.client, { defaults: () => null });
    const token = (delta: string, tokens: number) =>
      api.emit("chat.token", { requestId: "r1", conversationId: "c1", messageId: "a1", delta, tokens });
    await store.getState().send("Hi");
    token("Once", 1);
    await store.getState().open("c2");
    expect(store.getState().streaming).toBeNull();
    token(" upon", 2);
    await store.getState().open("c1");
    expect(store.getState().streaming?.text).toBe("Once upon");
    token(" a time", 3);
    expect(store.getState().streaming?.text).toBe("Once upon a time");
    api.emit("chat.done", {
      requestId: "r1",
      conversationId: "c1",
      message: message({ id: "a1", role: "assistant", content: "Once upon a time", parentId: "u1" }),
    });
    expect(store.getState().messages.map((m) => m.id)).toEqual(["u1", "a1"]);
  });
});
