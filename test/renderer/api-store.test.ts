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
