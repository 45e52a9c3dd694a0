import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { bearer, type FakeServer, raw, startFakeServer } from "./helpers.ts";

let fx: FakeServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await fx?.close();
  fx = undefined;
});

/** A connected socket, with everything it receives and a promise of its closing. */
async function open(port: number) {
  const socket = connect(port, "127.0.0.1");
  sockets.push(socket);
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    received += chunk;
  });
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, closed, received: () => received };
}

describe("server limits", () => {
  it("drops connections past the bound and serves again once one closes", async () => {
    fx = await startFakeServer({ limits: { maxConnections: 2 } });
    const a = await open(fx.port);
    const b = await open(fx.port);
    const c = await open(fx.port);
    await c.closed;
    expect(c.received()).toBe("");
    a.socket.destroy();
    await a.closed;
    await expect
      .poll(
        async () =>
          (await raw(fx?.port ?? 0, { path: "/v1/models", headers: bearer(fx?.apiToken ?? "") })).status,
      )
      .toBe(200);
    b.socket.destroy();
  });

  it("closes a client that never finishes its headers with 408", async () => {
    fx = await startFakeServer({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 300 } });
    const slow = await open(fx.port);
    slow.socket.write(`GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${fx.port}\r\n`);
    await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it("refuses oversized headers with 431", async () => {
    fx = await startFakeServer();
    const big = await open(fx.port);
    big.socket.write(
      `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${fx.port}\r\nX-Big: ${"a".repeat(40_000)}\r\n\r\n`,
    );
    await big.closed;
    expect(big.received()).toMatch(/^HTTP\/1\.1 431/);
  });

  it("bounds the open event streams and answers 429 past the bound", async () => {
    fx = await startFakeServer({ limits: { maxEventStreams: 2 } });
    const streams = [await open(fx.port), await open(fx.port)];
    for (const s of streams)
      s.socket.write(
        `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${fx.port}\r\nAuthorization: Bearer ${fx.uiToken}\r\n\r\n`,
      );
    await expect.poll(() => streams.every((s) => s.received().includes(": connected"))).toBe(true);
    const third = await raw(fx.port, { path: "/api/events", headers: bearer(fx.uiToken) });
    expect(third.status).toBe(429);
    streams[0].socket.destroy();
    await streams[0].closed;
    await expect
      .poll(async () => {
        const res = await raw(fx?.port ?? 0, {
          path: "/api/events?events=chat.nope",
          headers: bearer(fx?.uiToken ?? ""),
        });
        return res.status;
      })
      .toBe(400);
  });

  it("ends open streams and in-flight generations when the server closes", async () => {
    fx = await startFakeServer();
    fx.engine.hold();
    const stream = await open(fx.port);
    stream.socket.write(
      `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${fx.port}\r\nAuthorization: Bearer ${fx.uiToken}\r\n\r\n`,
    );
    await expect.poll(() => stream.received().includes(": connected")).toBe(true);
    const pending = raw(fx.port, {
      method: "POST",
      path: "/v1/completions",
      headers: bearer(fx.apiToken),
      body: '{"model":"fake-base","prompt":"wait for me"}',
    });
    await expect.poll(() => fx?.engine.createdIds.length).toBe(1);
    await fx.close();
    await stream.closed;
    const answer = await pending;
    expect(answer.status).toBe(503);
    expect(answer.json()).toMatchObject({ error: { message: expect.stringContaining("shutting down") } });
    expect(fx.engine.cancelledIds.has(fx.engine.createdIds[0])).toBe(true);
    fx.engine.resume();
    fx = undefined;
  });
});
