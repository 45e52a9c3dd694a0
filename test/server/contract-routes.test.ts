import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { bearer, type FakeServer, raw, startFakeServer } from "./helpers.ts";

let fx: FakeServer;
beforeAll(async () => {
  fx = await startFakeServer();
});
afterAll(async () => fx?.close());

const call = (name: string, body?: string) =>
  raw(fx.port, { method: "POST", path: `/api/call/${name}`, headers: bearer(fx.uiToken), body });

/** Reads an SSE stream until `count` events arrived; resolves with them and closes the connection. */
function readEvents(
  path: string,
  count: number,
  onOpen: () => void,
): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: unknown }[] = [];
    const req = request(
      { host: "127.0.0.1", port: fx.port, path, headers: bearer(fx.uiToken), agent: false },
      (res) => {
        expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          if (buffer.includes(": connected")) onOpen();
          let end = buffer.indexOf("\n\n");
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data) events.push({ event, data: JSON.parse(data) });
            if (events.length === count) {
              req.destroy();
              resolve(events);
              return;
            }
            end = buffer.indexOf("\n\n");
          }
        });
      },
    );
    req.on("error", (error) => (events.length === count ? undefined : reject(error)));
    req.end();
  });
}

describe("the contract over HTTP", () => {
  it("runs a call with its validated input (defaults filled in) and answers in the IPC envelope", async () => {
    const res = await call("conversations.list", "{}");
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      ok: true,
      value: { name: "conversations.list", input: { limit: 100, offset: 0 } },
    });
    const empty = await call("status.get");
    expect(empty.json()).toEqual({ ok: true, value: { echo: {} } });
  });

  it("refuses wrong input with 400 naming the field, before the engine sees it", async () => {
    const before = fx.engine.calls.length;
    const cases: [string, string, RegExp][] = [
      ["conversations.get", '{"id": 5}', /'id'/],
      ["conversations.get", "{}", /'id' is required/],
      ["conversations.rename", '{"id":"a","title":"t","extra":1}', /unknown field 'extra'/],
      ["conversations.list", '{"limit": 100000}', /'limit'/],
      ["chat.send", "[1,2]", /input/],
    ];
    for (const [name, body, message] of cases) {
      const res = await call(name, body);
      expect(res.status, body).toBe(400);
      expect((res.json() as { error: { code: string; message: string } }).error).toMatchObject({
        code: "BAD_INPUT",
        message: expect.stringMatching(message),
      });
    }
    expect(fx.engine.calls.length).toBe(before);
  });

  it("answers malformed JSON with 400, an unknown call with 404 and a GET with 405", async () => {
    const malformed = await call("status.get", '{"a":');
    expect(malformed.status).toBe(400);
    expect(malformed.json()).toMatchObject({
      ok: false,
      error: { code: "BAD_INPUT", message: expect.stringContaining("not valid JSON") },
    });
    expect((await call("nope.nothing", "{}")).status).toBe(404);
    const get = await raw(fx.port, { path: "/api/call/status.get", headers: bearer(fx.uiToken) });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
  });

  it("maps the engine's error codes to HTTP statuses, with the message and hint", async () => {
    const cases: [ElmwoodError, number][] = [
      [new ElmwoodError("NOT_FOUND", "No such conversation.", "Pick another."), 404],
      [new ElmwoodError("BUSY", "The model is busy.", "Wait."), 429],
      [new ElmwoodError("CONTEXT_OVERFLOW", "Too long.", "Shorten it."), 400],
      [new ElmwoodError("MODEL", "The model failed to load.", "Re-import it."), 503],
      [new ElmwoodError("CANCELLED", "Stopped."), 409],
      [new ElmwoodError("INTERNAL", "Bug."), 500],
    ];
    try {
      for (const [error, status] of cases) {
        fx.engine.failures.set("conversations.get", error);
        const res = await call("conversations.get", '{"id":"abc"}');
        expect(res.status, error.code).toBe(status);
        expect(res.json()).toEqual({
          ok: false,
          error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) },
        });
        if (status === 429) expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      }
      fx.engine.failures.set("conversations.get", new TypeError("x is undefined") as never);
      const bug = await call("conversations.get", '{"id":"abc"}');
      expect(bug.status).toBe(500);
      expect(bug.json()).toMatchObject({ error: { code: "INTERNAL", hint: expect.any(String) } });
    } finally {
      fx.engine.failures.clear();
    }
  });

  it("streams the contract's events by name, only the ones asked for, and unsubscribes on disconnect", async () => {
    const events = readEvents("/api/events?events=chat.token,status.changed", 2, () => {
      fx.engine.emit("documents.progress", { type: "idle" });
      fx.engine.emit("chat.token", {
        requestId: "r1",
        conversationId: "c1",
        messageId: "m1",
        delta: "Hi",
        tokens: 1,
      });
      fx.engine.emit("chat.token", {
        requestId: "r1",
        conversationId: "c1",
        messageId: "m1",
        delta: " there",
        tokens: 2,
      });
    });
    expect(await events).toEqual([
      {
        event: "chat.token",
        data: { requestId: "r1", conversationId: "c1", messageId: "m1", delta: "Hi", tokens: 1 },
      },
      {
        event: "chat.token",
        data: { requestId: "r1", conversationId: "c1", messageId: "m1", delta: " there", tokens: 2 },
      },
    ]);
    await expect.poll(() => fx.engine.listenerCount("chat.token")).toBe(0);
    const unknown = await raw(fx.port, { path: "/api/events?events=chat.nope", headers: bearer(fx.uiToken) });
    expect(unknown.status).toBe(400);
  });

  it("takes a whole file for conversations.import, past the limit other calls have", async () => {
    const content = JSON.stringify({ padding: "x".repeat(2 * 1024 * 1024) });
    const res = await call("conversations.import", JSON.stringify({ content }));
    expect(res.status).toBe(200);
    expect(fx.engine.calls.at(-1)).toMatchObject({ name: "conversations.import" });
  });

  it("refuses a body over the limit with 413 without reading it all", async () => {
    const huge = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const res = await call("status.get", huge.toString());
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({
      ok: false,
      error: { code: "BAD_INPUT", message: expect.stringContaining("larger than") },
    });
  });
});
