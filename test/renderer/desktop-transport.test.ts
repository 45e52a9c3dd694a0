import { describe, expect, it } from "vitest";
import type { ElmwoodApi } from "../../engine/api/contract.ts";
import { createClient } from "../../renderer/api/client.ts";
import { desktopApi, isDesktopBridge } from "../../renderer/api/desktop-transport.ts";
import { CallError } from "../../renderer/api/errors.ts";

function bridge(call: (name: string, input: unknown) => Promise<unknown>) {
  return { version: "0.1.0", call, on: () => () => {} } as unknown as ElmwoodApi;
}

describe("desktop transport", () => {
  it("recognizes the preload's bridge and nothing less", () => {
    expect(isDesktopBridge(bridge(async () => null))).toBe(true);
    expect(isDesktopBridge({ version: "0.1.0" })).toBe(false);
    expect(isDesktopBridge(undefined)).toBe(false);
  });

  it("turns the preload's plain error object into a CallError with code and hint", async () => {
    const api = desktopApi(
      bridge(async () => {
        throw {
          name: "ElmwoodError",
          code: "CONTEXT_OVERFLOW",
          message: "Too long.",
          hint: "Start a new chat.",
        };
      }),
    );
    const failure = (await api.call("status.get", {}).catch((e: unknown) => e)) as CallError;
    expect(failure).toBeInstanceOf(CallError);
    expect(failure.info).toMatchObject({ code: "CONTEXT_OVERFLOW", hint: "Start a new chat." });
  });

  it("strips Electron's remote-method prefix from an error that lost its fields", async () => {
    const api = desktopApi(
      bridge(async () => {
        throw new Error("Error invoking remote method 'elmwood:call:status.get': Error: the disk is full");
      }),
    );
    const failure = (await api.call("status.get", {}).catch((e: unknown) => e)) as CallError;
    expect(failure.info.code).toBe("INTERNAL");
    expect(failure.info.message).toBe("Something went wrong: the disk is full");
  });

  it("unwraps an { ok, value } envelope", async () => {
    const api = desktopApi(bridge(async () => ({ ok: true, value: { stopped: false } })));
    expect(await api.call("chat.stop", { requestId: "r1" })).toEqual({ stopped: false });
  });

  it("gives one typed method per contract call, named after it", async () => {
    const seen: string[] = [];
    const client = createClient(
      bridge(async (name) => {
        seen.push(name);
        return {};
      }),
    );
    await client.models.catalog();
    await client.conversations.rename({ id: "c1", title: "Trip" });
    expect(seen).toEqual(["models.catalog", "conversations.rename"]);
  });
});
