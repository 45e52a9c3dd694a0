/**
 * Fuzzing of the parsers that read what others wrote: safetensors headers, config.json, the
 * contract's validators and the API's request bodies. Each run is bounded and seeded; it reports how
 * many inputs were tried, and fails on any input that crashes a parser or makes it hang.
 */
import { describe, expect, it } from "vitest";
import { CALL_NAMES } from "../../../engine/api/contract.ts";
import { validateCall } from "../../../engine/api/validate.ts";
import {
  configToJson,
  numpyLinspace,
  numpyRound2,
  parseDerivedConfig,
  parseOpenElmConfig,
} from "../../../engine/openelm/config.ts";
import { parseSafetensorsBytes } from "../../../engine/openelm/safetensors.ts";
import { parseChatRequest, parseCompletionRequest } from "../../../engine/server/openai/requests.ts";
import { OPENELM_270M_SHAPE, randomCheckpointConfig } from "../../support/random-checkpoint.ts";
import { fuzz, mutateBytes, mutateValue, pick, randomValue } from "./kit.ts";

const RUNS = 3000;

function safetensorsFile(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const HEADER = {
  __metadata__: { format: "pt" },
  "transformer.norm.weight": { dtype: "F32", shape: [4], data_offsets: [0, 16] },
  "transformer.token_embeddings.weight": { dtype: "BF16", shape: [3, 4], data_offsets: [16, 40] },
  "transformer.layers.0.attn_norm.weight": { dtype: "F16", shape: [4], data_offsets: [40, 48] },
};

/** OpenELM-270M's config.json as published, in the range form. */
const CONFIG_270M = randomCheckpointConfig({ ...OPENELM_270M_SHAPE, configForm: "ranges" });

describe("fuzzing the parsers we own", () => {
  it("safetensors headers: damaged bytes and damaged JSON are refused, never crash", () => {
    const valid = safetensorsFile(HEADER, 48);
    expect(parseSafetensorsBytes(valid, "seed").tensors).toHaveLength(3);
    const bytes = fuzz(
      "safetensors bytes",
      RUNS,
      (rng) => mutateBytes(rng, valid),
      (b) => parseSafetensorsBytes(b, "fuzz"),
    );
    const json = fuzz(
      "safetensors header JSON",
      RUNS,
      (rng) => safetensorsFile(mutateValue(rng, HEADER), pick(rng, [0, 16, 48, 64])),
      (b) => parseSafetensorsBytes(b, "fuzz"),
      { seed: 2 },
    );
    expect(bytes.refused + json.refused).toBeGreaterThan(RUNS);
  });

  it("config.json in both published forms, and the converted model's manifest config", () => {
    const parsed = parseOpenElmConfig(CONFIG_270M);
    const listForm = {
      ...CONFIG_270M,
      num_query_heads: parsed.layers.map((l) => l.queryHeads),
      num_kv_heads: parsed.layers.map((l) => l.kvHeads),
      ffn_multipliers: numpyLinspace(0.5, 4.0, 16).map(numpyRound2),
    };
    expect(parseOpenElmConfig(listForm).layers).toEqual(parsed.layers);
    fuzz(
      "config.json",
      RUNS,
      (rng) => mutateValue(rng, pick(rng, [CONFIG_270M, listForm])),
      (c) => parseOpenElmConfig(c),
    );
    const derived = configToJson(parsed);
    fuzz(
      "manifest config",
      RUNS / 2,
      (rng) => mutateValue(rng, derived),
      (c) => parseDerivedConfig(c),
      { seed: 3 },
    );
  });

  // Found by the config fuzz above: describing an object with String() threw a TypeError for JSON
  // such as {"toString": []}.
  it("config.json: a value whose toString is not a function is refused as an ElmwoodError", () => {
    const config = { ...CONFIG_270M, rope_freq_constant: { toString: [] } };
    expect(() => parseOpenElmConfig(config)).toThrow(expect.objectContaining({ code: "CHECKPOINT" }));
  });

  it("the contract's validators, for every call", () => {
    const seeds: Record<string, unknown> = {
      "chat.send": {
        content: "Hello",
        settings: { systemPrompt: "Be brief.", sampling: { temperature: 0.7, maxTokens: 100 } },
      },
      "chat.stop": { requestId: "abc" },
      "conversations.list": { limit: 10, offset: 0 },
      "completions.create": {
        messages: [{ role: "user", content: "hi" }],
        sampling: { seed: 3 },
        stop: ["\n"],
      },
      "models.pull": { repo: "apple/OpenELM-270M-Instruct", precision: "int4" },
      "documents.search": { query: "birch", limit: 5, kinds: ["pdf"], folders: ["/tmp"] },
      "documents.summarize": { text: "Some text.", style: "bullets" },
      "settings.update": { theme: "dark", sampling: { topP: 0.9 } },
    };
    const report = fuzz(
      "contract validators",
      RUNS * 2,
      (rng) => {
        const name = pick(rng, CALL_NAMES);
        const seed = seeds[name] ?? {};
        return { name, input: rng() < 0.8 ? mutateValue(rng, seed) : randomValue(rng) };
      },
      ({ name, input }) => validateCall(name, input),
      { seed: 4 },
    );
    expect(report.accepted).toBeGreaterThan(0);
  });

  it("the API's request bodies", () => {
    const chat = {
      model: "openelm-270m-instruct",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Hello" }] },
      ],
      max_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
      stop: ["\n\n"],
      seed: 42,
      stream: true,
      stream_options: { include_usage: true },
    };
    const completion = {
      model: "openelm-270m",
      prompt: "Once upon a time",
      max_tokens: 16,
      stop: "\n",
      n: 1,
      echo: false,
    };
    fuzz(
      "chat request bodies",
      RUNS,
      (rng) => mutateValue(rng, chat),
      (b) => parseChatRequest(b),
      { seed: 5 },
    );
    fuzz(
      "completion request bodies",
      RUNS,
      (rng) => mutateValue(rng, completion),
      (b) => parseCompletionRequest(b),
      { seed: 6 },
    );
  });
});
