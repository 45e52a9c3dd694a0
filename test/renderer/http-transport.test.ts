import { describe, expect, it } from "vitest";
import { CallError } from "../../renderer/api/errors.ts";
import { httpApi, takeToken } from "../../renderer/api/http-transport.ts";

/** An EventSource the test drives: named events, as the engine's server sends them. */
class FakeEventSource {
  static last: FakeEventSource;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((message: MessageEvent<string>) => void) | null = null;
  private readonly named = new Map<string, (message: MessageEvent<string>) => void>();
  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(name: string, listener: (message: MessageEvent<string>) => void) {
    this.named.set(name, listener);
  }
  close() {}
  fire(name: string, data: unknown) {
    this.named.get(name)?.({ data: JSON.stringify(data) } as MessageEvent<string>);
  }
}

function api(answer: (url: string, init: RequestInit) => Response) {
  const seen: { url: string; init: RequestInit }[] = [];
  const transport = httpApi({
    base: "http://127.0.0.1:4861",
    token: "secret-token",
    fetch: (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return answer(url, init);
    }) as typeof fetch,
    EventSource: FakeEventSource as unknown as typeof EventSource,
  });
  return { transport, seen };
}

describe("browser mode transport", () => {
  it("posts a call to /api/call/<name> with the token and returns its answer", async () => {
    const { transport, seen } = api(() => Response.json({ stopped: true }));
    expect(await transport.call("chat.stop", { requestId: "r1" })).toEqual({ stopped: true });
    expect(seen[0].url).toBe("http://127.0.0.1:4861/api/call/chat.stop");
    expect(new Headers(seen[0].init.headers).get("authorization")).toBe("Bearer secret-token");
    expect(seen[0].init.body).toBe(JSON.stringify({ requestId: "r1" }));
  });

  it("turns the engine's error body into a CallError with its code and hint", async () => {
    const { transport } = api(() =>
      Response.json({ error: { code: "BUSY", message: "Queue full.", hint: "Wait." } }, { status: 429 }),
    );
    const failure = await transport.call("status.get", {}).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CallError);
    expect((failure as CallError).info).toEqual({ code: "BUSY", message: "Queue full.", hint: "Wait." });
  });

  it("says the engine is unreachable when the connection fails", async () => {
    const { transport } = api(() => {
      throw new TypeError("fetch failed");
    });
    const failure = (await transport.call("status.get", {}).catch((e: unknown) => e)) as CallError;
    expect(failure.info.code).toBe("NETWORK");
  });

  it("delivers named server-sent events to the listeners of that event only", () => {
    const { transport } = api(() => Response.json({}));
    const tokens: string[] = [];
    const stop = transport.on("chat.token", (e) => tokens.push(e.delta));
    transport.on("chat.done", () => tokens.push("done"));
    expect(FakeEventSource.last.url).toBe("http://127.0.0.1:4861/api/events?token=secret-token");
    FakeEventSource.last.fire("chat.token", {
      requestId: "r",
      conversationId: "c",
      messageId: "m",
      delta: "a",
      tokens: 1,
    });
    stop();
    FakeEventSource.last.fire("chat.token", {
      requestId: "r",
      conversationId: "c",
      messageId: "m",
      delta: "b",
      tokens: 2,
    });
    expect(tokens).toEqual(["a"]);
  });

  it("takes the token out of the address and keeps it for the tab", () => {
    const stored = new Map<string, string>();
    const storage = {
      getItem: (k: string) => stored.get(k) ?? null,
      setItem: (k: string, v: string) => void stored.set(k, v),
    } as Storage;
    let replaced = "";
    const history = {
      state: null,
      replaceState: (_s: unknown, _t: string, url: string) => {
        replaced = url;
      },
    } as History;
    const location = { href: "http://127.0.0.1:4861/?token=abc&x=1#chat" } as Location;
    expect(takeToken(location, storage, history)).toBe("abc");
    expect(replaced).toBe("/?x=1#chat");
    expect(takeToken({ href: "http://127.0.0.1:4861/" } as Location, storage, history)).toBe("abc");
  });
});
