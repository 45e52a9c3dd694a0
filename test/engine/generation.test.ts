import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertCheckpoint } from "../../engine/openelm/convert.ts";
import { generate } from "../../engine/runtime/generator.ts";
import { ModelSession } from "../../engine/runtime/model-session.ts";
import { GREEDY } from "../../engine/runtime/sampler.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";
import {
  argmaxOf,
  type EngineFixture,
  makeEngineFixture,
  PROMPT,
  relativeError,
} from "../support/engine-fixtures.ts";

let fx: EngineFixture;
let session: ModelSession;
const tokenizer = llamaTokenizer();

beforeAll(async () => {
  fx = await makeEngineFixture(["fp32"]);
  session = await ModelSession.load(fx.models.fp32, { provider: "cpu", threads: 2 });
});
afterAll(async () => {
  await session?.close();
  await fx?.cleanup();
});

/** Logits after `tokens` from a cold cache. */
async function cold(tokens: number[]): Promise<Float32Array> {
  session.reset();
  return Float32Array.from((await session.logitsFor(tokens)).logits);
}

describe("fp32 engine against the float64 reference", () => {
  it("matches the reference logits within 1e-4 relative at every step of a cached greedy run", async () => {
    session.reset();
    const sequence = [...PROMPT];
    for (let step = 0; step < 12; step++) {
      const { logits } = await session.logitsFor(sequence);
      const expected = fx.reference.forward(sequence).at(-1) as Float64Array;
      expect(relativeError(logits, expected)).toBeLessThan(1e-4);
      sequence.push(argmaxOf(expected));
    }
  });

  it("continues greedily with exactly the reference's tokens", async () => {
    session.reset();
    const expected = fx.reference.greedy(PROMPT, 12);
    const result = await generate(session, tokenizer, { prompt: PROMPT, maxNewTokens: 12, sampling: GREEDY });
    expect(result.tokens).toEqual(expected.tokens);
    expect(result.finishReason).toBe("length");
  });
});

describe("KV cache", () => {
  it("prefill then token-by-token decode equals recomputing the whole sequence", async () => {
    session.reset();
    const sequence = [...PROMPT];
    await session.logitsFor(sequence);
    for (let step = 0; step < 6; step++) {
      sequence.push(1000 + step * 37);
      const incremental = Float32Array.from((await session.logitsFor(sequence)).logits);
      const cachedBefore = session.cachedLength;
      const full = await cold(sequence);
      expect(relativeError(incremental, full)).toBeLessThan(1e-5);
      expect(cachedBefore).toBe(sequence.length);
      await session.logitsFor(sequence); // restore the incremental state for the next step
    }
  });

  it("a follow-up that extends the previous request reuses its prefix and equals a cold run", async () => {
    session.reset();
    const first = await generate(session, tokenizer, { prompt: PROMPT, maxNewTokens: 5, sampling: GREEDY });
    const followUp = [...PROMPT, ...first.tokens, 2, 29871, 13, 29966, 29989, 1792];
    const warm = await session.logitsFor(followUp);
    expect(warm.reused).toBe(PROMPT.length + first.tokens.length - 1);
    const warmLogits = Float32Array.from(warm.logits);
    const coldLogits = await cold(followUp);
    expect(relativeError(warmLogits, coldLogits)).toBeLessThan(1e-5);
    expect(argmaxOf(warmLogits)).toBe(argmaxOf(coldLogits));
  });

  it("a regenerate with a different ending rewinds to the shared prefix", async () => {
    session.reset();
    await session.logitsFor([...PROMPT, 500, 600, 700]);
    const other = [...PROMPT, 800, 900];
    const rewound = await session.logitsFor(other);
    expect(rewound.reused).toBe(PROMPT.length);
    expect(rewound.computed).toBe(2);
    expect(relativeError(Float32Array.from(rewound.logits), await cold(other))).toBeLessThan(1e-5);
  });

  it("keeps every cached row deep into the window, across prefill chunks and decode steps", async () => {
    session.reset();
    // 700 tokens: six prefill chunks of the default 128, then single steps on the same cache tensors.
    const sequence = Array.from({ length: 700 }, (_, i) => (i === 0 ? 1 : 200 + ((i * 977) % 9000)));
    await session.logitsFor(sequence);
    for (let step = 0; step < 6; step++) {
      sequence.push(3000 + step);
      await session.logitsFor(sequence);
    }
    const deep = Float32Array.from((await session.logitsFor(sequence)).logits);
    expect(relativeError(deep, fx.reference.forward(sequence).at(-1) as Float64Array)).toBeLessThan(1e-4);
  });

  it("long prompts are prefilled in chunks with the same result as one pass", async () => {
    const chunked = await ModelSession.load(fx.models.fp32, { provider: "cpu", threads: 2, prefillChunk: 7 });
    try {
      const long = Array.from({ length: 40 }, (_, i) => (i === 0 ? 1 : 300 + ((i * 131) % 5000)));
      const a = Float32Array.from((await chunked.logitsFor(long)).logits);
      const expected = fx.reference.forward(long).at(-1) as Float64Array;
      expect(relativeError(a, expected)).toBeLessThan(1e-4);
    } finally {
      await chunked.close();
    }
  });
});

describe("stopping", () => {
  it("an abort takes effect within one step: no further model run after it", async () => {
    session.reset();
    const controller = new AbortController();
    let seen = 0;
    const result = await generate(session, tokenizer, {
      prompt: PROMPT,
      maxNewTokens: 50,
      sampling: GREEDY,
      signal: controller.signal,
      onToken: () => {
        if (++seen === 3) controller.abort();
      },
    });
    expect(result.finishReason).toBe("cancelled");
    expect(result.tokens).toHaveLength(3);
    // Tokens 1 and 2 were run to produce the next; the third was chosen, then the abort was seen.
    expect(session.cachedLength).toBe(PROMPT.length + 2);
  });

  it("an already aborted request runs nothing", async () => {
    session.reset();
    const controller = new AbortController();
    controller.abort();
    const result = await generate(session, tokenizer, {
      prompt: PROMPT,
      maxNewTokens: 5,
      sampling: GREEDY,
      signal: controller.signal,
    });
    expect(result.finishReason).toBe("cancelled");
    expect(session.cachedLength).toBe(0);
  });

  it("a stop string ends the reply before it, and is never shown", async () => {
    session.reset();
    const full = await generate(session, tokenizer, { prompt: PROMPT, maxNewTokens: 12, sampling: GREEDY });
    const stop = full.text.slice(Math.floor(full.text.length / 2), Math.floor(full.text.length / 2) + 3);
    const streamed: string[] = [];
    const stopped = await generate(session, tokenizer, {
      prompt: PROMPT,
      maxNewTokens: 12,
      sampling: GREEDY,
      stopStrings: [stop],
      onToken: ({ text }) => streamed.push(text),
    });
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(streamed.join("")).toBe(stopped.text);
  });

  it("stops at the model's end-of-sequence token", async () => {
    // Make the third greedy token the model's EOS by editing a copy of the checkpoint's config.
    const greedy = fx.reference.greedy(PROMPT, 3).tokens;
    const copy = join(fx.root, "eos-checkpoint");
    await cp(fx.checkpoint, copy, { recursive: true });
    const config = JSON.parse(await readFile(join(copy, "config.json"), "utf8"));
    await writeFile(join(copy, "config.json"), JSON.stringify({ ...config, eos_token_id: greedy[2] }));
    const model = join(fx.root, "eos-model");
    await convertCheckpoint(copy, model, { precision: "fp32" });
    const eosSession = await ModelSession.load(model, { provider: "cpu", threads: 2 });
    try {
      const result = await generate(eosSession, tokenizer, {
        prompt: PROMPT,
        maxNewTokens: 10,
        sampling: GREEDY,
      });
      expect(result.finishReason).toBe("eos");
      expect(result.tokens).toEqual(greedy.slice(0, 2));
    } finally {
      await eosSession.close();
    }
  });

  it("refuses a request that does not fit the window before running anything", async () => {
    session.reset();
    const prompt = Array.from({ length: 2000 }, (_, i) => 100 + i);
    await expect(
      generate(session, tokenizer, { prompt, maxNewTokens: 100, sampling: GREEDY }),
    ).rejects.toMatchObject({
      code: "CONTEXT_OVERFLOW",
    });
    expect(session.cachedLength).toBe(0);
  });

  it("refuses token ids outside the vocabulary, naming the id", async () => {
    await expect(session.logitsFor([1, 32000])).rejects.toThrow(/Token id 32000 is out of range/);
  });
});
