/**
 * `elmwood serve` killed with SIGKILL while a chat reply streams, twice: each time what the reply
 * had written (saved about every second) comes back after the restart as a message marked
 * interrupted, the database passes SQLite's integrity check, and the interrupted reply can be
 * regenerated.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../engine/store/database.ts";
import { MODEL, makeServiceFixture, type ServiceFixture } from "../service/fixture.ts";
import { callOver, openFeed, type ServeProcess, spawnServe } from "./serve-process.ts";

const SERVE_ARGS = ["--model", MODEL, "--provider", "cpu", "--threads", "1"];

let fx: ServiceFixture;
const running: ServeProcess[] = [];

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
}, 300_000);

afterAll(async () => {
  for (const p of running)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await Promise.all(running.map((p) => p.exited));
  await fx?.cleanup();
});

async function serve(): Promise<ServeProcess> {
  const p = await spawnServe(SERVE_ARGS, { ELMWOOD_HOME: fx.home });
  running.push(p);
  return p;
}

interface SavedReply {
  id: string;
  content: string;
  saved_at: number;
}

/** The replies in progress as the database holds them now, read from outside the server. */
function savedReplies(): SavedReply[] {
  const db = openDatabase(join(fx.home, "elmwood.db"));
  try {
    return db.prepare("SELECT id, content, saved_at FROM chat_replies_in_progress").all() as SavedReply[];
  } finally {
    db.close();
  }
}

function integrity(): string {
  const db = openDatabase(join(fx.home, "elmwood.db"));
  try {
    return (db.prepare("PRAGMA integrity_check").all()[0] as { integrity_check: string }).integrity_check;
  } finally {
    db.close();
  }
}

interface Message {
  id: string;
  role: string;
  content: string;
  stats: unknown;
  siblingIds: string[];
  interruption: { cause: string; message: string } | null;
}

/**
 * Starts a reply with `start`, lets it stream until the server has saved it at least twice (so the
 * periodic save, not only the first one, is what is on disk), then kills the server. Returns what
 * had streamed to the client and what the database held after the kill.
 */
async function killWhileStreaming(
  p: ServeProcess,
  start: () => Promise<{ requestId: string; assistantMessageId: string }>,
) {
  const feed = await openFeed(p);
  const { requestId, assistantMessageId } = await start();
  const saves = new Set<number>();
  await expect
    .poll(
      () => {
        const reply = savedReplies().find((r) => r.id === assistantMessageId);
        if (reply?.content) saves.add(Number(reply.saved_at));
        return saves.size;
      },
      { timeout: 60_000, interval: 100 },
    )
    .toBeGreaterThanOrEqual(2);
  p.child.kill("SIGKILL");
  expect(await p.exited).toBe("SIGKILL");
  const streamed = feed
    .seen<{ requestId: string; delta: string }>("chat.token", (e) => e.requestId === requestId)
    .map((e) => e.delta)
    .join("");
  feed.close();
  const saved = savedReplies().find((r) => r.id === assistantMessageId);
  return { messageId: assistantMessageId, streamed, saved: saved?.content ?? "" };
}

describe("elmwood serve killed with SIGKILL while a reply streams", () => {
  it("keeps what the reply had written as an interrupted message, round after round", async () => {
    const first = await serve();
    const conversation = (await callOver(first, "conversations.create", {
      settings: { sampling: { temperature: 0, maxTokens: 2000 } },
    })) as { id: string };
    const round1 = await killWhileStreaming(first, () =>
      callOver(first, "chat.send", { conversationId: conversation.id, content: "Tell me everything." }),
    );
    // What was saved is the start of what streamed (the last token may not have reached the client).
    expect(round1.saved.length).toBeGreaterThan(0);
    const [shorter, longer] = [round1.saved, round1.streamed].sort((a, b) => a.length - b.length);
    expect(longer.startsWith(shorter)).toBe(true);
    expect(integrity()).toBe("ok");

    const second = await serve();
    let view = (await callOver(second, "conversations.get", { id: conversation.id })) as {
      messages: Message[];
    };
    expect(view.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(view.messages[1]).toMatchObject({
      id: round1.messageId,
      content: round1.saved,
      stats: null,
      interruption: { cause: "crash", message: expect.stringContaining("Elmwood stopped") },
    });
    expect(savedReplies()).toEqual([]);

    // Regenerate the interrupted reply, and kill the server again while that one streams.
    const round2 = await killWhileStreaming(second, () =>
      callOver(second, "chat.regenerate", { conversationId: conversation.id, messageId: round1.messageId }),
    );
    expect(integrity()).toBe("ok");

    const third = await serve();
    view = (await callOver(third, "conversations.get", { id: conversation.id })) as { messages: Message[] };
    const last = view.messages.at(-1);
    expect(last).toMatchObject({
      id: round2.messageId,
      content: round2.saved,
      interruption: { cause: "crash" },
    });
    expect(last?.siblingIds).toEqual([round1.messageId, round2.messageId]);
    expect(view.messages[0]).toMatchObject({ role: "user", content: "Tell me everything." });

    third.child.kill("SIGTERM");
    expect(await third.exited).toBe(0);
  });
});
