/**
 * The GPU code path, exercised on the WebGPU provider through SwiftShader, the software Vulkan driver
 * that Debian's chromium package ships (CI installs it). Speed here means nothing; correctness does.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODEL_FILE } from "../../engine/openelm/manifest.ts";
import { generate } from "../../engine/runtime/generator.ts";
import { ModelSession } from "../../engine/runtime/model-session.ts";
import { inspectPlacement } from "../../engine/runtime/placement.ts";
import { GREEDY } from "../../engine/runtime/sampler.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";
import {
  argmaxOf,
  cosine,
  dequantizedReference,
  type EngineFixture,
  makeEngineFixture,
  PROMPT,
  relativeError,
} from "../support/engine-fixtures.ts";

const SWIFTSHADER = "/usr/lib/chromium/vk_swiftshader_icd.json";
const available = existsSync(SWIFTSHADER);
// On CI the driver must be there (.ci/run installs chromium): a missing one fails instead of skipping.
const required = process.env.CI === "true";
if (available) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

describe.runIf(available || required)("WebGPU provider (SwiftShader)", () => {
  let fx: EngineFixture;
  const sessions: ModelSession[] = [];
  const open = async (dir: string) => {
    const session = await ModelSession.load(dir, { provider: "webgpu", threads: 2 });
    sessions.push(session);
    return session;
  };

  beforeAll(async () => {
    expect(existsSync(SWIFTSHADER), `${SWIFTSHADER} is missing: apt-get install chromium`).toBe(true);
    fx = await makeEngineFixture();
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
    await fx?.cleanup();
  });

  it("places every node of the fp32 and int4 graphs on WebGPU, none on the CPU", async () => {
    for (const precision of ["fp32", "int4"] as const) {
      const placement = await inspectPlacement(join(fx.models[precision], MODEL_FILE), "webgpu");
      expect(Object.keys(placement.nodesByProvider)).toEqual(["WebGpuExecutionProvider"]);
    }
  });

  it("fp32: logits match the reference and greedy decoding through the KV cache is identical", async () => {
    const session = await open(fx.models.fp32);
    expect(session.provider.name).toBe("webgpu");
    expect(session.provider.reason).toMatch(/software/);
    const { logits } = await session.logitsFor(PROMPT);
    expect(relativeError(logits, fx.reference.forward(PROMPT).at(-1) as Float64Array)).toBeLessThan(1e-4);
    session.reset();
    const result = await generate(session, llamaTokenizer(), {
      prompt: PROMPT,
      maxNewTokens: 6,
      sampling: GREEDY,
    });
    expect(result.tokens).toEqual(fx.reference.greedy(PROMPT, 6).tokens);
  });

  it("fp32: a follow-up reuses the cached prefix and equals the reference", async () => {
    const session = await open(fx.models.fp32);
    await session.logitsFor(PROMPT);
    const followUp = [...PROMPT, 450, 4996, 17354];
    const warm = await session.logitsFor(followUp);
    expect(warm.reused).toBe(PROMPT.length);
    expect(relativeError(warm.logits, fx.reference.forward(followUp).at(-1) as Float64Array)).toBeLessThan(
      1e-4,
    );
  });

  it.each([
    ["int8", 8],
    ["int4", 4],
  ] as const)("%s: within the CPU's stated bounds of the dequantized reference", async (precision, bits) => {
    const session = await open(fx.models[precision]);
    const reference = await dequantizedReference(fx.checkpoint, bits);
    const sequence = [...PROMPT];
    for (let step = 0; step < 3; step++) {
      const { logits } = await session.logitsFor(sequence);
      const expected = reference.forward(sequence).at(-1) as Float64Array;
      expect(cosine(logits, expected)).toBeGreaterThan(0.998);
      expect(relativeError(logits, expected)).toBeLessThan(0.08);
      sequence.push(argmaxOf(expected));
    }
  });
});
