import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../engine/server/server.ts";
import { FakeEngine } from "./fake-engine.ts";
import { bearer, type FakeServer, raw, startFakeServer } from "./helpers.ts";

let fx: FakeServer;
let renderer: string;

beforeAll(async () => {
  renderer = await mkdtemp(join(tmpdir(), "elmwood-renderer-"));
  await writeFile(join(renderer, "index.html"), "<!doctype html><title>Elmwood page</title>");
  fx = await startFakeServer({ ui: { rendererDir: renderer } });
});
afterAll(async () => {
  await fx?.close();
  await rm(renderer, { recursive: true, force: true });
});

const doors = () => [
  { path: "/v1/models", headers: bearer(fx.apiToken) },
  { path: "/api/call/status.get", method: "POST", headers: bearer(fx.uiToken), body: "{}" },
  { path: "/", headers: { cookie: `elmwood_${fx.port}=${fx.uiToken}` } },
];

describe("who may talk to the server", () => {
  it("answers every door when Host, Origin and token are right", async () => {
    for (const door of doors()) {
      const res = await raw(fx.port, {
        ...door,
        headers: { ...door.headers, origin: `http://127.0.0.1:${fx.port}` },
      });
      expect(res.status, door.path).toBe(200);
    }
    const viaLocalhost = await raw(fx.port, { ...doors()[0], host: `localhost:${fx.port}` });
    expect(viaLocalhost.status).toBe(200);
  });

  it("refuses a foreign Host header (DNS rebinding) with 403 on every door", async () => {
    for (const host of ["evil.example", `evil.example:${fx.port}`, `127.0.0.1:${fx.port + 1}`, "127.0.0.1"]) {
      for (const door of doors()) {
        const res = await raw(fx.port, { ...door, host });
        expect(res.status, `${host} ${door.path}`).toBe(403);
      }
    }
  });

  it("refuses a foreign or opaque Origin with 403, in the door's own error shape", async () => {
    for (const origin of [
      "http://evil.example",
      `https://127.0.0.1:${fx.port}`,
      "null",
      `http://localhost:${fx.port + 1}`,
    ]) {
      const api = await raw(fx.port, { ...doors()[0], headers: { ...doors()[0].headers, origin } });
      expect(api.status, origin).toBe(403);
      expect(api.json()).toMatchObject({
        error: { type: "invalid_request_error", code: "forbidden_origin" },
      });
      const call = await raw(fx.port, { ...doors()[1], headers: { ...doors()[1].headers, origin } });
      expect(call.status).toBe(403);
      expect(call.json()).toMatchObject({ ok: false, error: { code: "BAD_INPUT" } });
    }
  });

  it("refuses a missing or wrong token with 401 and asks for a bearer token", async () => {
    const callsBefore = fx.engine.calls.length;
    const cases = [
      { path: "/v1/models" },
      { path: "/v1/models", headers: bearer("wrong-token") },
      { path: "/v1/models", headers: bearer(fx.uiToken) },
      { path: "/api/call/status.get", method: "POST", body: "{}" },
      { path: "/api/call/status.get", method: "POST", body: "{}", headers: bearer(fx.apiToken) },
      { path: "/api/events", headers: { cookie: `elmwood_${fx.port}=nope` } },
      { path: "/" },
    ];
    for (const c of cases) {
      const res = await raw(fx.port, c);
      expect(res.status, `${c.path} ${JSON.stringify(c.headers)}`).toBe(401);
    }
    const api = await raw(fx.port, { path: "/v1/models", headers: bearer("wrong") });
    expect(api.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(api.json()).toMatchObject({ error: { code: "invalid_api_key" } });
    expect(fx.engine.calls.length).toBe(callsBefore);
  });

  it("trades the token in the address for an HttpOnly SameSite=Strict cookie, then serves the page", async () => {
    const first = await raw(fx.port, { path: `/chat?token=${fx.uiToken}&x=1` });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe("/chat?x=1");
    const cookie = String(first.headers["set-cookie"]);
    expect(cookie).toContain(`elmwood_${fx.port}=${fx.uiToken}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);

    const page = await raw(fx.port, { path: "/chat", headers: { cookie: cookie.split(";")[0] } });
    expect(page.status).toBe(200);
    expect(page.body).toContain("Elmwood page");
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");

    // EventSource cannot set headers: the event stream also takes the token in its address.
    const stream = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: fx.port, path: `/api/events?token=${fx.uiToken}`, agent: false },
        (res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(stream).toBe(200);
    expect(
      (await raw(fx.port, { path: `/api/call/status.get?token=${fx.uiToken}`, method: "POST" })).status,
    ).toBe(401);

    const wrong = await raw(fx.port, { path: "/?token=guess" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers["set-cookie"]).toBeUndefined();
  });

  it("serves only files inside the renderer folder", async () => {
    const cookie = `elmwood_${fx.port}=${fx.uiToken}`;
    for (const path of [
      "/../package.json",
      "/%2e%2e/package.json",
      "/assets/%2e%2e%2f%2e%2e%2fpackage.json",
      "/a%00b.js",
    ]) {
      const res = await raw(fx.port, { path, headers: { cookie } });
      expect(res.body, path).not.toContain('"name": "elmwood"');
      expect([200, 404], path).toContain(res.status);
    }
  });

  it("says to build the page when out/renderer is missing", async () => {
    const bare = await startServer({
      door: new FakeEngine(),
      port: 0,
      ui: { rendererDir: join(renderer, "missing") },
    });
    try {
      const res = await raw(bare.port, { path: "/", headers: bearer(bare.uiToken ?? "") });
      expect(res.status).toBe(503);
      expect(res.body).toContain("npm run build");
    } finally {
      await bare.close();
    }
  });

  it("keeps the API off unless it is given a token, and refuses to listen beyond loopback without opt-in", async () => {
    const uiOnly = await startServer({ door: new FakeEngine(), port: 0 });
    try {
      const res = await raw(uiOnly.port, { path: "/v1/models", headers: bearer("anything") });
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: "api_disabled" } });
    } finally {
      await uiOnly.close();
    }
    await expect(startServer({ door: new FakeEngine(), port: 0, host: "0.0.0.0" })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("other machines"),
    });
  });

  it("reports a port in use as BUSY with a way forward", async () => {
    await expect(startServer({ door: new FakeEngine(), port: fx.port })).rejects.toMatchObject({
      code: "BUSY",
      hint: expect.stringContaining("--port"),
    });
  });
});
