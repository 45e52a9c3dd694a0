import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROMPT, relativeError } from "../support/engine-fixtures.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../support/random-checkpoint.ts";
import { ReferenceModel } from "../support/reference.ts";

const run = promisify(execFile);
let root: string;
let checkpoint: string;
let model: string;

async function elmwood(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/elmwood.js", ...args], {
      env: { ...process.env, ELMWOOD_HOME: join(root, "home") },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const LONG_PROMPT = Array.from({ length: 2100 }, (_, i) => 100 + i).join(",");
let mismatched: string;
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1) as string);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-cli-"));
  checkpoint = join(root, "checkpoint");
  model = join(root, "model");
  await writeRandomCheckpoint(checkpoint, { ...SMALL_OPENELM, seed: 11 });
  // A checkpoint whose config says a larger vocabulary than its embedding holds.
  mismatched = join(root, "mismatched");
  await cp(checkpoint, mismatched, { recursive: true });
  const config = JSON.parse(await readFile(join(mismatched, "config.json"), "utf8"));
  await writeFile(
    join(mismatched, "config.json"),
    JSON.stringify({ ...config, vocab_size: config.vocab_size + 8 }),
  );
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe("elmwood CLI", () => {
  it("converts a checkpoint, then generates the reference's greedy tokens from given ids", async () => {
    const converted = await elmwood("convert", checkpoint, model, "--precision", "fp32", "--json");
    expect(converted.code).toBe(0);
    expect(lastJson(converted.stdout)).toMatchObject({ precision: "fp32" });

    const reference = await ReferenceModel.load(checkpoint);
    const out = await elmwood(
      "generate",
      "--model",
      model,
      "--tokens",
      PROMPT.join(","),
      "--max-new-tokens",
      "6",
      "--provider",
      "cpu",
      "--json",
    );
    expect(out.code).toBe(0);
    const result = lastJson(out.stdout);
    expect(result.tokens).toEqual(reference.greedy(PROMPT, 6).tokens);
    expect(result).toMatchObject({ provider: "cpu", promptTokens: PROMPT.length });
    expect(typeof result.text).toBe("string");
    expect(result.prefillTokensPerSecond).toBeGreaterThan(0);
    expect(result.decodeTokensPerSecond).toBeGreaterThan(0);

    const logits = await elmwood("logits", "--model", model, "--tokens", PROMPT.join(","), "--json");
    expect(logits.code).toBe(0);
    const values = lastJson(logits.stdout).logits as number[];
    expect(values).toHaveLength(32000);
    expect(relativeError(values, reference.forward(PROMPT).at(-1) as Float64Array)).toBeLessThan(1e-4);
  });

  it("a text prompt gets BOS and a seeded sampled run is reproducible", async () => {
    const args = [
      "generate",
      "--model",
      model,
      "--prompt",
      "Once upon a time",
      "--max-new-tokens",
      "5",
      "--temperature",
      "0.8",
      "--top-p",
      "0.9",
      "--seed",
      "4",
      "--json",
    ];
    const [a, b] = [await elmwood(...args), await elmwood(...args)];
    expect(a.code).toBe(0);
    expect(lastJson(a.stdout).tokens).toEqual(lastJson(b.stdout).tokens);
    expect(lastJson(a.stdout).promptTokens).toBe(5); // <s> Once upon a time
  });

  it.each([
    [["generate", "--model", "MODEL", "--tokens", "1,32000"], /Token id 32000 is out of range/],
    [["generate", "--model", "MODEL", "--tokens", "1,2", "--bogus"], /Unknown option '--bogus'/],
    [
      ["generate", "--model", "MODEL", "--tokens", "1", "--temperature", "warm"],
      /--temperature must be a number/,
    ],
    [["generate", "--model", "MODEL", "--tokens", "1", "--max-new-tokens", "3000"], /window is 2048 tokens/],
    [["generate", "--model", "/nonexistent/model", "--tokens", "1"], /nonexistent/],
    [["convert", "/nonexistent/ck", "OUT"], /nonexistent/],
    [["convert", "MISMATCHED", "OUT"], /transformer\.token_embeddings\.weight/],
    [["generate", "--model", "MODEL", "--tokens", LONG_PROMPT], /The prompt is 2100 tokens.*2048/],
    [["logits", "--model", "MODEL", "--tokens", "1,x"], /'x' is not a token id/],
  ])("bad input %j gets one clear line and a non-zero exit", async (args, message) => {
    const names: Record<string, string> = { MODEL: model, OUT: join(root, "x"), MISMATCHED: mismatched };
    const out = await elmwood(...args.map((a) => names[a] ?? a));
    expect(out.code).not.toBe(0);
    expect(out.stderr.trim().split("\n").at(-1)).toMatch(message);
    expect(out.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
