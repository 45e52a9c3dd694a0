import { describe, expect, it } from "vitest";
import type { ApiStatus } from "../../engine/api/contract.ts";
import { createApiStore } from "../../renderer/stores/api-store.ts";
import { fakeApi } from "./fake-api.ts";

const status = (fields: Partial<ApiStatus>): ApiStatus => ({
  enabled: false,
  port: 4862,
  allowRemote: false,
  token: "t".repeat(32),
  tokenFromEnvironment: false,
  running: false,
  baseUrl: null,
  error: null,
  revision: 0,
  ...fields,
});

describe("local API settings store", () => {
  it("keeps a newer event over an older answer that arrives after it", async () => {
    let answer: (value: ApiStatus) => void = () => {};
    const fake = fakeApi({
      "api.get": () => status({}),
      "api.update": () => new Promise<ApiStatus>((resolve) => (answer = resolve)),
    });
    const store = createApiStore(fake.client);
    await store.getState().refresh();
    const turningOn = store.getState().update({ enabled: true });
    // Shown at once, before the engine answers.
    expect(store.getState().api?.enabled).toBe(true);
    // The server starts and says so before the update's own answer is delivered.
    fake.emit(
      "api.changed",
      status({ enabled: true, running: true, baseUrl: "http://127.0.0.1:4862/v1", revision: 2 }),
    );
    answer(status({ enabled: true, running: false, revision: 1 }));
    await turningOn;
    expect(store.getState().api).toMatchObject({ running: true, revision: 2 });
  });

  it("keeps a later change on screen while the answer to an earlier one arrives", async () => {
    const answers: ((value: ApiStatus) => void)[] = [];
    const fake = fakeApi({
      "api.get": () => status({}),
      "api.update": () => new Promise<ApiStatus>((resolve) => answers.push(resolve)),
    });
    const store = createApiStore(fake.client);
    await store.getState().refresh();
    // A port typed, then the switch clicked before the port's answer came back.
    const port = store.getState().update({ port: 5000 });
    const on = store.getState().update({ enabled: true });
    answers[0]?.(status({ port: 5000, revision: 1 }));
    fake.emit("api.changed", status({ port: 5000, revision: 1 }));
    await port;
    expect(store.getState().api).toMatchObject({ port: 5000, enabled: true });
    answers[1]?.(status({ port: 5000, enabled: true, revision: 2 }));
    await on;
    expect(store.getState().api).toMatchObject({ port: 5000, enabled: true, revision: 2 });
  });

  it("puts the switch back when the engine refuses the change", async () => {
    const fake = fakeApi({
      "api.get": () => status({}),
      "api.update": () => Promise.reject({ name: "ElmwoodError", code: "BAD_INPUT", message: "Bad port." }),
    });
    const store = createApiStore(fake.client);
    await store.getState().refresh();
    await store.getState().update({ enabled: true });
    expect(store.getState().api?.enabled).toBe(false);
    expect(store.getState().error?.message).toBe("Bad port.");
  });
});
