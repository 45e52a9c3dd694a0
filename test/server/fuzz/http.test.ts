/**
 * Fuzzing the server end to end: damaged JSON text and structurally wrong bodies sent to every door.
 * Each request must be answered, within a bound, with a status from the door's list and a body in the
 * door's error shape; the server must still answer afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CALL_NAMES } from "../../../engine/api/contract.ts";
import { bearer, type FakeServer, startFakeServer } from "../helpers.ts";
import { mutateBytes, mutateValue, pick, type Rng, randomValue, seededRandom } from "./kit.ts";

const REQUESTS = 800;
const PARALLEL = 4;

let fx: FakeServer;
beforeAll(async () => {
  fx = await startFakeServer();
});
afterAll(async () => fx?.close());

const CHAT = {
  model: "fake-base",
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 3,
  stream: false,
};
const COMPLETION = { model: "fake-base", prompt: "a b c", max_tokens: 3, stop: ["\n"] };

function body(rng: Rng, seed: unknown): Uint8Array<ArrayBuffer> | string {
  const roll = rng();
  if (roll < 0.4) return mutateBytes(rng, new TextEncoder().encode(JSON.stringify(seed)));
  if (roll < 0.9) return JSON.stringify(mutateValue(rng, seed)) ?? "";
  return JSON.stringify(randomValue(rng)) ?? "";
}

function request(rng: Rng): {
  path: string;
  token: string;
  body: Uint8Array<ArrayBuffer> | string;
  door: "openai" | "contract";
} {
  const roll = rng();
  if (roll < 0.35)
    return { path: "/v1/chat/completions", token: fx.apiToken, body: body(rng, CHAT), door: "openai" };
  if (roll < 0.6)
    return { path: "/v1/completions", token: fx.apiToken, body: body(rng, COMPLETION), door: "openai" };
  const name = pick(rng, CALL_NAMES);
  return { path: `/api/call/${name}`, token: fx.uiToken, body: body(rng, {}), door: "contract" };
}

describe("fuzzing the server over HTTP", () => {
  it("answers every damaged request with a status and an error in the door's shape, within a bound", async () => {
    const rng = seededRandom(7);
    const statuses = new Map<number, number>();
    let slowest = 0;
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const i = next++;
        const r = request(rng);
        const started = performance.now();
        const res = await fetch(`${fx.server.origin}${r.path}`, {
          method: "POST",
          headers: { ...bearer(r.token), "content-type": "application/json" },
          body: r.body,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        slowest = Math.max(slowest, performance.now() - started);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([200, 400, 404, 409, 413, 429], `#${i} ${r.path} ${text.slice(0, 200)}`).toContain(res.status);
        if (res.status === 200) continue;
        const parsed = JSON.parse(text) as { ok?: boolean; error: Record<string, unknown> };
        if (r.door === "openai")
          expect(Object.keys(parsed.error).sort()).toEqual(["code", "message", "param", "type"]);
        else
          expect(parsed).toMatchObject({
            ok: false,
            error: { code: expect.any(String), message: expect.any(String) },
          });
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    console.log(
      `fuzz HTTP bodies: ${REQUESTS} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, slowest ${slowest.toFixed(0)} ms`,
    );
    expect(statuses.get(400)).toBeGreaterThan(REQUESTS / 4);
    const alive = await fetch(`${fx.server.origin}/v1/models`, { headers: bearer(fx.apiToken) });
    expect(alive.status).toBe(200);
  });
});
