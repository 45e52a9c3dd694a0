/**
 * A reply is saved as it streams, so closing Elmwood or losing the process keeps what was written:
 * on the next start it is a message marked interrupted, and it can be regenerated.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ElmwoodService } from "../../engine/service.ts";
import { makeServiceFixture, nextEvent, replyTo, type ServiceFixture } from "./fixture.ts";

let fx: ServiceFixture;
let service: ElmwoodService;

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
  service = fx.open();
  await service.call("models.load", { provider: "cpu", threads: 1 });
}, 120_000);

afterAll(async () => {
  await service?.close();
  await fx?.cleanup();
});

async function longChat() {
  return (
    await service.call("conversations.create", {
      settings: { sampling: { temperature: 0, maxTokens: 1500 } },
    })
  ).id;
}

/** The id of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid ?? 0;
}

describe("a reply in progress", () => {
  it("is saved while it streams, and gives way to the message when it ends", async () => {
    const conversationId = await longChat();
    const firstToken = nextEvent(service, "chat.token", (e) => e.conversationId === conversationId);
    const reply = replyTo(service, service.call("chat.send", { conversationId, content: "Tell me a story" }));
    await firstToken;
    await expect
      .poll(
        () =>
          service.conversations.repliesInProgress().find((r) => r.conversationId === conversationId)?.content,
      )
      .toMatch(/\S/);
    const saved = service.conversations.repliesInProgress().find((r) => r.conversationId === conversationId);
    await service.call("chat.stop", { conversationId });
    const { done, text } = await reply;
    expect(text.startsWith(saved?.content ?? "\u0000")).toBe(true);
    expect(done?.message.id).toBe(saved?.id);
    expect(service.conversations.repliesInProgress()).toEqual([]);
  });

  it("cut short by closing Elmwood is kept, marked as such, after the restart", async () => {
    const conversationId = await longChat();
    let closing: Promise<void> | undefined;
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId, content: "Keep talking" }),
      (tokens) => {
        if (tokens >= 3 && !closing) closing = service.close();
      },
    );
    await closing;
    expect(reply.done?.message.interruption?.cause).toBe("quit");
    service = fx.open();
    const view = await service.call("conversations.get", { id: conversationId });
    expect(view.messages.at(-1)).toMatchObject({
      role: "assistant",
      content: reply.text,
      interruption: { cause: "quit", message: expect.stringContaining("Elmwood was closed") },
    });
    await service.call("models.load", { provider: "cpu", threads: 1 });
  });

  it("left behind by a process that died comes back interrupted at the next start, and can be regenerated", async () => {
    const conversationId = await longChat();
    const question = service.conversations.add(conversationId, {
      parentId: null,
      role: "user",
      content: "Hello?",
    });
    const id = "orphanedreply0001";
    service.conversations.beginReply({
      id,
      conversationId,
      parentId: question.id,
      model: "tiny-instruct",
      template: "openelm-instruct",
      owner: `${await deadPid()}:gone0000`,
    });
    service.conversations.saveReply(id, "Hello! I was saying", [15043, 29991]);
    await service.close();
    service = fx.open();
    const view = await service.call("conversations.get", { id: conversationId });
    expect(view.messages.map((m) => [m.role, m.content, m.interruption?.cause ?? null])).toEqual([
      ["user", "Hello?", null],
      ["assistant", "Hello! I was saying", "crash"],
    ]);
    await service.call("conversations.updateSettings", { id: conversationId, sampling: { maxTokens: 4 } });
    const again = await replyTo(service, service.call("chat.regenerate", { conversationId, messageId: id }));
    expect(again.done?.message).toMatchObject({
      siblingIds: [id, again.done?.message.id],
      interruption: null,
    });
  });
});
