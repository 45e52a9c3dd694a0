/**
 * A reply being written is kept in the store as it streams, becomes a message in the same
 * transaction that finishes it, and comes back as an interrupted message when its writer died.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { interruption } from "../../engine/chat/interruption.ts";
import { ConversationStore, newId } from "../../engine/chat/store.ts";
import { type Db, openDatabase, scalar } from "../../engine/store/database.ts";

const sampling = { temperature: 0.7, topP: 0.9, topK: 40, minP: 0, repetitionPenalty: 1.2, maxTokens: 64 };
const crash = interruption("crash");
const DEAD = "4242:dead0000";
const LIVE = "77:live0000";
const gone = (owner: string) => owner === DEAD;

let db: Db;
let store: ConversationStore;
let conversationId: string;
let questionId: string;

beforeEach(() => {
  db = openDatabase(":memory:");
  store = new ConversationStore(db);
  conversationId = store.create({ systemPrompt: "", sampling, model: null }).id;
  questionId = store.add(conversationId, { parentId: null, role: "user", content: "Tell me about elms" }).id;
});

afterEach(() => db.close());

function begin(owner = DEAD, id = newId()) {
  store.beginReply(
    { id, conversationId, parentId: questionId, model: "tiny", template: "openelm-instruct", owner },
    1_000,
  );
  return id;
}

describe("a reply in progress", () => {
  it("is not a message of the conversation while it is being written", () => {
    const id = begin();
    store.saveReply(id, "Elms are", [10, 11], 2_000);
    expect(store.view(conversationId).messages.map((m) => m.role)).toEqual(["user"]);
    expect(store.repliesInProgress()).toMatchObject([{ id, content: "Elms are", tokens: [10, 11] }]);
  });

  it("becomes the message that finishes it, in the same transaction", () => {
    const id = begin();
    store.saveReply(id, "Elms are", [10, 11]);
    store.add(conversationId, { id, parentId: questionId, role: "assistant", content: "Elms are tall." });
    expect(store.repliesInProgress()).toEqual([]);
    expect(store.view(conversationId).messages.at(-1)).toMatchObject({ id, interruption: null });
  });

  it("whose writer died comes back as an interrupted message with what it had written", () => {
    const id = begin();
    store.saveReply(id, "Elms are tall trees", [10, 11, 12, 13], 3_000);
    const kept = store.recoverReplies(gone, crash);
    expect(kept.map((m) => m.id)).toEqual([id]);
    const view = store.view(conversationId);
    expect(view.activeLeafId).toBe(id);
    expect(view.messages.at(-1)).toMatchObject({
      id,
      role: "assistant",
      content: "Elms are tall trees",
      model: "tiny",
      stats: null,
      interruption: { cause: "crash" },
      createdAt: 1_000,
    });
    // Its ids go back into the next prompt like any reply's.
    expect(store.message(conversationId, id).tokens).toEqual([10, 11, 12, 13]);
    expect(store.repliesInProgress()).toEqual([]);
  });

  it("is found by search once recovered", () => {
    const id = begin();
    store.saveReply(id, "The wych elm has rough leaves", [1]);
    store.recoverReplies(gone, crash);
    expect(store.search("wych", 10).map((h) => h.messageId)).toEqual([id]);
  });

  it("is left alone while its writer is alive", () => {
    const id = begin(LIVE);
    store.saveReply(id, "Still writing", [1]);
    expect(store.recoverReplies(gone, crash)).toEqual([]);
    expect(store.repliesInProgress().map((r) => r.id)).toEqual([id]);
    expect(store.view(conversationId).messages).toHaveLength(1);
  });

  it("that had written nothing is dropped, leaving the question as it was", () => {
    begin();
    expect(store.recoverReplies(gone, crash)).toEqual([]);
    expect(store.repliesInProgress()).toEqual([]);
    expect(store.view(conversationId).messages.map((m) => m.id)).toEqual([questionId]);
  });

  it("takes the place of the reply it was regenerating on screen", () => {
    const old = store.add(conversationId, { parentId: questionId, role: "assistant", content: "First try" });
    const id = begin();
    store.saveReply(id, "Second try, half", [1]);
    expect(store.view(conversationId).activeLeafId).toBe(old.id);
    store.recoverReplies(gone, crash);
    const view = store.view(conversationId);
    expect(view.activeLeafId).toBe(id);
    expect(view.messages.at(-1)?.siblingIds).toEqual([old.id, id]);
  });

  it("does not take over the branch on screen when the person had moved to another", () => {
    const id = begin();
    store.saveReply(id, "Half a reply", [1]);
    const other = store.add(conversationId, { parentId: null, role: "user", content: "Another question" });
    store.recoverReplies(gone, crash);
    const view = store.view(conversationId);
    expect(view.activeLeafId).toBe(other.id);
    expect(store.messages(conversationId).map((m) => m.id)).toContain(id);
  });

  it("goes with its conversation when the conversation is deleted", () => {
    begin();
    store.delete(conversationId);
    expect(scalar(db, "SELECT COUNT(*) FROM chat_replies_in_progress")).toBe(0);
  });
});
