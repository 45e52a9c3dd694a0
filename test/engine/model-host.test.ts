import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelHost } from "../../engine/runtime/model-host.ts";
import { GREEDY } from "../../engine/runtime/sampler.ts";
import { type EngineFixture, makeEngineFixture, PROMPT, relativeError } from "../support/engine-fixtures.ts";

let fx: EngineFixture;
let host: ModelHost;
beforeAll(async () => {
  fx = await makeEngineFixture(["fp32"]);
  host = await ModelHost.start(fx.models.fp32, { provider: "cpu", threads: 1, maxQueue: 2 });
});
afterAll(async () => {
  await host?.close();
  await fx?.cleanup();
});

describe("model host (worker thread)", () => {
  it("reports the provider and streams the reference's greedy tokens", async () => {
    expect(host.info.provider.name).toBe("cpu");
    const streamed: number[] = [];
    const result = await host.generate(
      { prompt: PROMPT, maxNewTokens: 6, sampling: GREEDY },
      { onToken: (t) => streamed.push(t.id) },
    );
    expect(result.tokens).toEqual(fx.reference.greedy(PROMPT, 6).tokens);
    expect(streamed).toEqual(result.tokens);
  });

  it("keeps the main event loop free while the model runs", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await host.generate({ prompt: PROMPT, maxNewTokens: 30, sampling: GREEDY });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it("runs one generation at a time, in order, and refuses past the queue's bound", async () => {
    const order: string[] = [];
    const request = (name: string) =>
      host.generate(
        { prompt: PROMPT, maxNewTokens: 3, sampling: GREEDY },
        { onStart: () => order.push(name) },
      );
    const a = request("a");
    const b = request("b");
    const c = request("c");
    await expect(request("d")).rejects.toMatchObject({ code: "BUSY" });
    await Promise.all([a, b, c]);
    expect(order).toEqual(["a", "b", "c"]);
  });

  it("an abort while waiting removes the request without running it; an abort while running stops it", async () => {
    const running = new AbortController();
    const waiting = new AbortController();
    let tokens = 0;
    const first = host.generate(
      { prompt: PROMPT, maxNewTokens: 200, sampling: GREEDY },
      { signal: running.signal, onToken: () => ++tokens === 2 && running.abort() },
    );
    let started = false;
    const second = host.generate(
      { prompt: PROMPT, maxNewTokens: 5, sampling: GREEDY },
      { signal: waiting.signal, onStart: () => (started = true) },
    );
    waiting.abort();
    await expect(second).rejects.toMatchObject({ code: "CANCELLED" });
    const result = await first;
    expect(result.finishReason).toBe("cancelled");
    expect(result.tokens.length).toBeLessThan(200);
    expect(started).toBe(false);
  });

  it("returns logits that match the reference, and errors cross the thread with their code", async () => {
    const logits = await host.logits(PROMPT);
    expect(relativeError(logits, fx.reference.forward(PROMPT).at(-1) as Float64Array)).toBeLessThan(1e-4);
    await expect(host.logits([1, 40000])).rejects.toMatchObject({ code: "BAD_INPUT" });
  });

  it("closing stops a running generation, which ends cancelled with what it wrote, then frees the model", async () => {
    const other = await ModelHost.start(fx.models.fp32, { provider: "cpu", threads: 1 });
    let tokens = 0;
    let closing: Promise<void> | undefined;
    const running = other.generate(
      { prompt: PROMPT, maxNewTokens: 500, sampling: GREEDY },
      {
        onToken: () => {
          tokens += 1;
          if (tokens === 3) closing = other.close();
        },
      },
    );
    const result = await running;
    await closing;
    expect(result.finishReason).toBe("cancelled");
    expect(result.tokens.length).toBeGreaterThanOrEqual(3);
    expect(result.tokens.length).toBeLessThan(500);
    await expect(other.generate({ prompt: PROMPT, maxNewTokens: 2, sampling: GREEDY })).rejects.toMatchObject(
      {
        code: "MODEL",
      },
    );
  });

  it("a prefill fills the cache: the request after it computes only the rest and writes the same tokens", async () => {
    const ahead = [...PROMPT, 450, 451, 452];
    const prompt = [...ahead, 600, 601];
    expect(await host.prefill(ahead)).toEqual({ computed: expect.any(Number) });
    // Everything is cached now, so a second prefill of the same tokens computes nothing.
    expect(await host.prefill(ahead)).toEqual({ computed: 0 });
    const result = await host.generate({ prompt, maxNewTokens: 4, sampling: GREEDY });
    expect(result.timings.reusedTokens).toBe(ahead.length);
    expect(result.tokens).toEqual(fx.reference.greedy(prompt, 4).tokens);
  });

  it("a prefill never waits behind a request, and gives way to one", async () => {
    // Chunks of 4 tokens: a long prefill is many runs, with a chance to stop between each two.
    const small = await ModelHost.start(fx.models.fp32, { provider: "cpu", threads: 1, prefillChunk: 4 });
    try {
      const long = Array.from({ length: 400 }, (_, i) => 300 + i);
      // While a generation runs, a prefill is skipped at once.
      let generating = true;
      const generation = small
        .generate({ prompt: PROMPT, maxNewTokens: 12, sampling: GREEDY })
        .finally(() => (generating = false));
      expect(await small.prefill(long)).toBeNull();
      expect(generating).toBe(true);
      await generation;

      // A request that arrives while a prefill runs stops it and gets the reference's tokens.
      const prefill = small.prefill(long);
      await null; // the prefill has been handed to the worker
      const request = small.generate({ prompt: PROMPT, maxNewTokens: 5, sampling: GREEDY });
      expect(await prefill).toBeNull();
      expect((await request).tokens).toEqual(fx.reference.greedy(PROMPT, 5).tokens);

      // A newer prefill replaces one in progress.
      const older = small.prefill(long);
      await null;
      const newer = small.prefill([...PROMPT, 700]);
      expect(await older).toBeNull();
      expect(await newer).toEqual({ computed: expect.any(Number) });
      const after = await small.generate({
        prompt: [...PROMPT, 700, 701],
        maxNewTokens: 2,
        sampling: GREEDY,
      });
      expect(after.timings.reusedTokens).toBe(PROMPT.length + 1);

      // Closing stops a prefill in progress.
      const last = small.prefill(long);
      await null;
      await small.close();
      expect(await last).toBeNull();
    } finally {
      await small.close();
    }
  });

  it("a model that cannot load fails with its reason", async () => {
    await expect(ModelHost.start("/nonexistent/model")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
