import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertCheckpoint } from "../../engine/openelm/convert.ts";
import { generate } from "../../engine/runtime/generator.ts";
import { ModelSession } from "../../engine/runtime/model-session.ts";
import { GREEDY } from "../../engine/runtime/sampler.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";
import { FakeHub } from "../support/fake-hub.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../support/random-checkpoint.ts";

const REPO = "test/OpenELM-Tiny";
const NAME = "openelm-tiny-int4";
const PROMPT = [1, 450, 317, 912];

let root: string;
let checkpointDir: string;
let hub: FakeHub;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function elmwood(home: string, ...args: string[]): Promise<Run> {
  return elmwoodWith({ HF_ENDPOINT: hub.url }, home, ...args);
}

function elmwoodWith(env: NodeJS.ProcessEnv, home: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/elmwood.js", ...args],
      { env: { ...process.env, ELMWOOD_HOME: home, HF_TOKEN: "", ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const lastJson = (run: Run) => JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "null");

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-models-cli-"));
  checkpointDir = join(root, "checkpoint");
  // A 1024-token vocabulary keeps the download small; the Llama tokenizer still decodes those ids.
  await writeRandomCheckpoint(checkpointDir, { ...SMALL_OPENELM, vocabSize: 1024 });
  const files: Record<string, Uint8Array> = {};
  for (const file of await readdir(checkpointDir)) files[file] = await readFile(join(checkpointDir, file));
  hub = await FakeHub.start([{ id: REPO, files }]);
});

afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

async function greedyTokens(dir: string): Promise<number[]> {
  const session = await ModelSession.load(dir, { provider: "cpu", threads: 1 });
  try {
    const result = await generate(session, llamaTokenizer(), {
      prompt: PROMPT,
      maxNewTokens: 6,
      sampling: GREEDY,
      continues: PROMPT,
    });
    return result.tokens;
  } finally {
    await session.close();
  }
}

describe("elmwood models", () => {
  it("pulls from HF_ENDPOINT, lists the model, and generate runs it by its store name", async () => {
    const home = join(root, "home-pull");
    const pulled = await elmwood(home, "models", "pull", REPO, "--json");
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(lastJson(pulled)).toMatchObject({
      name: NAME,
      precision: "int4",
      converted: true,
      isDefault: true,
    });
    expect(pulled.stderr).toContain("verified model.safetensors");
    expect(pulled.stderr).toContain(`elmwood models rm ${NAME} --source`);

    const listed = lastJson(await elmwood(home, "models", "list", "--json"));
    expect(listed.models.map((m: { name: string }) => m.name)).toEqual([NAME]);

    const generated = await elmwood(
      home,
      "generate",
      "--model",
      NAME,
      "--tokens",
      PROMPT.join(","),
      "--max-new-tokens",
      "6",
      "--provider",
      "cpu",
      "--threads",
      "1",
      "--json",
    );
    expect(generated.code, generated.stderr).toBe(0);
    // The downloaded, verified and converted model behaves exactly like one converted from the source.
    const direct = join(root, "direct");
    await convertCheckpoint(checkpointDir, direct, { precision: "int4" });
    expect(lastJson(generated).tokens).toEqual(await greedyTokens(direct));

    const removed = await elmwood(home, "models", "rm", NAME, "--json");
    expect(removed.code, removed.stderr).toBe(0);
    expect(lastJson(removed).removedSource).toMatchObject({ bytes: expect.any(Number) });
    expect(lastJson(await elmwood(home, "models", "list", "--json")).models).toEqual([]);
  });

  it("fails a pull from a hub nobody answers at once, in one line that names HF_ENDPOINT", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const endpoint = `http://127.0.0.1:${port}`;

    const pulled = await elmwoodWith(
      { HF_ENDPOINT: endpoint },
      join(root, "home-offline"),
      "models",
      "pull",
      REPO,
    );
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).not.toMatch(/retry/);
    const lines = pulled.stderr.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("elmwood models"))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^elmwood models: Cannot reach the hub at ${endpoint}: .*refused the connection.*HF_ENDPOINT`,
      ),
    );
  });

  it("lets two processes pull the same model at once: one downloads, both end with the same model", async () => {
    const home = join(root, "home-twice");
    const before = hub.fileRequests(REPO, "model.safetensors").length;
    const runs = await Promise.all([
      elmwood(home, "models", "pull", REPO, "--json"),
      elmwood(home, "models", "pull", REPO, "--json"),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(runs.map((r) => lastJson(r).converted).sort()).toEqual([false, true]);
    expect(hub.fileRequests(REPO, "model.safetensors").length - before).toBe(1);
    expect(lastJson(await elmwood(home, "models", "list", "--json")).models).toHaveLength(1);
  });

  it("answers a repository the hub does not have with one clear line and exit code 1", async () => {
    const run = await elmwood(join(root, "home-missing"), "models", "pull", "test/No-Such-Model");
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(
      /^elmwood models: test\/No-Such-Model \(revision main\) was not found on http:\/\/127\.0\.0\.1:\d+ \(HTTP 404\)\. Check the repository id/,
    );
  });
});
