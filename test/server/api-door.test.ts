import { mkdtemp, rm } from "node:fs/promises";
import { get } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiStatus } from "../../engine/api/contract.ts";
import { elmwoodPaths } from "../../engine/paths.ts";
import { ApiDoor } from "../../engine/server/api-door.ts";
import { ElmwoodService } from "../../engine/service.ts";

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Waits for the api.changed event that satisfies `ready`. */
function until(service: ElmwoodService, ready: (s: ApiStatus) => boolean): Promise<ApiStatus> {
  return new Promise((resolve) => {
    const off = service.on("api.changed", (status) => {
      if (!ready(status)) return;
      off();
      resolve(status);
    });
  });
}

let home: string;
let service: ElmwoodService;
let door: ApiDoor;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "elmwood-api-door-"));
  service = new ElmwoodService({ paths: elmwoodPaths(home) });
  door = new ApiDoor(service);
  await door.start();
});
afterAll(async () => {
  await door?.close();
  await service?.close();
  await rm(home, { recursive: true, force: true });
});

/** GET /v1/models on a fresh connection (a pooled one may belong to the server just replaced). */
const models = (status: ApiStatus, token = status.token) =>
  new Promise<{ status: number }>((resolve, reject) => {
    get(
      `${status.baseUrl}/models`,
      { agent: false, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      },
    ).on("error", reject);
  });

describe("the API switch in Settings", () => {
  it("is off by default: nothing listens", async () => {
    const status = await service.call("api.get", {});
    expect(status).toMatchObject({ enabled: false, running: false, baseUrl: null, allowRemote: false });
    expect(status.token.length).toBeGreaterThanOrEqual(16);
  });

  it("turning it on starts the API on the chosen port, on loopback, behind the token", async () => {
    const port = await freePort();
    const running = until(service, (s) => s.running);
    await service.call("api.update", { enabled: true, port });
    const status = await running;
    expect(status.baseUrl).toBe(`http://127.0.0.1:${port}/v1`);
    expect((await models(status)).status).toBe(200);
    expect((await models(status, "wrong-token-wrong-token")).status).toBe(401);
  });

  it("a regenerated token replaces the old one at once", async () => {
    const before = await service.call("api.get", {});
    const restarted = until(service, (s) => s.running && s.token !== before.token);
    await service.call("api.regenerateToken", {});
    const after = await restarted;
    expect((await models(after, before.token)).status).toBe(401);
    expect((await models(after)).status).toBe(200);
  });

  it("a port in use is reported, not retried in a loop, and turning it off stops the server", async () => {
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const taken = (blocker.address() as { port: number }).port;
    const failed = until(service, (s) => !s.running && s.error !== null);
    await service.call("api.update", { port: taken });
    expect((await failed).error).toMatch(/in use|BUSY|port/i);
    blocker.close();

    const before = await service.call("api.get", {});
    const stopped = until(service, (s) => !s.enabled && !s.running && s.error === null);
    await service.call("api.update", { enabled: false });
    await stopped;
    expect(before.running).toBe(false);
    expect(door.running).toBeUndefined();
  });

  it("refuses ports below 1024 by name", async () => {
    await expect(service.call("api.update", { port: 80 })).rejects.toMatchObject({ code: "BAD_INPUT" });
  });
});

describe("API settings changed together", () => {
  it("keeps both of two changes that arrive at the same time", async () => {
    const port = await freePort();
    await Promise.all([
      service.call("api.update", { port }),
      service.call("api.update", { allowRemote: false, enabled: false }),
    ]);
    expect(await service.call("api.get", {})).toMatchObject({ port, enabled: false });
  });
});
