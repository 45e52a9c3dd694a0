/**
 * `elmwood serve --model` as a person runs it: it takes what `generate --model` takes. A converted
 * folder outside the store is served under a name made from the folder's (another when an installed
 * model has that name), and that name works everywhere a model name does: the contract, /v1/models,
 * /v1/completions. A value that names nothing fails in one line that says what is accepted and what
 * is installed, the same line in every command.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertCheckpoint } from "../../engine/openelm/convert.ts";
import { MODEL, makeServiceFixture, type ServiceFixture } from "../service/fixture.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../support/random-checkpoint.ts";
import { callOver, type ServeProcess, spawnServe } from "./serve-process.ts";

const API_TOKEN = "serve-model-test-token-0123456789";
const CPU = ["--provider", "cpu", "--threads", "1"];

let fx: ServiceFixture;
/** A converted model outside the store, from another checkpoint, in a folder named like the installed one. */
let folder: string;
const running: ServeProcess[] = [];

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
  const checkpoint = join(fx.home, "..", "other-checkpoint");
  await writeRandomCheckpoint(checkpoint, { ...SMALL_OPENELM, seed: 29 });
  folder = join(fx.home, "..", MODEL);
  await convertCheckpoint(checkpoint, folder, { precision: "fp32" });
}, 300_000);

afterAll(async () => {
  for (const p of running)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await Promise.all(running.map((p) => p.exited));
  await fx?.cleanup();
});

async function serve(args: string[]): Promise<ServeProcess> {
  const p = await spawnServe(args, { ELMWOOD_HOME: fx.home, ELMWOOD_API_TOKEN: API_TOKEN });
  running.push(p);
  return p;
}

async function stop(p: ServeProcess): Promise<void> {
  p.child.kill("SIGTERM");
  expect(await p.exited).toBe(0);
}

function elmwood(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/elmwood.js", ...args],
      { env: { ...process.env, ELMWOOD_HOME: fx.home } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("elmwood serve --model", () => {
  it("serves a converted folder under a name made from it, usable through the contract and /v1", async () => {
    const served = `${MODEL}-2`;
    const p = await serve(["--api", "--model", folder, ...CPU]);
    expect(p.info.model).toBe(served);
    expect(p.stderr()).toContain(`serving the model folder ${folder} as '${served}'`);

    const status = (await callOver(p, "status.get")) as { model: { state: string; name: string } };
    expect(status.model).toMatchObject({ state: "ready", name: served });
    const listed = (await callOver(p, "models.list")) as {
      models: { name: string; isDefault: boolean }[];
      defaultModel: string | null;
    };
    // The profile's own default stays the installed model.
    expect(listed.models.map((m) => [m.name, m.isDefault])).toEqual([
      [MODEL, true],
      [served, false],
    ]);

    const client = new OpenAI({ baseURL: p.info.apiBaseUrl ?? "", apiKey: API_TOKEN, maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([MODEL, served]);
    expect((await client.models.retrieve(served)).id).toBe(served);
    const completion = await client.completions.create({
      model: served,
      prompt: "Once upon a time",
      max_tokens: 5,
      temperature: 0,
    });
    expect(completion.model).toBe(served);
    // The very model in the folder answered: the same greedy text generate gives from that folder.
    const direct = await elmwood(
      "generate",
      "--model",
      folder,
      "--prompt",
      "Once upon a time",
      "--max-new-tokens",
      "5",
      ...CPU,
      "--json",
    );
    expect(direct.code, direct.stderr).toBe(0);
    const expected = JSON.parse(direct.stdout.trim().split("\n").at(-1) ?? "").text as string;
    expect(expected).not.toBe("");
    expect(completion.choices[0]?.text).toBe(expected);

    // The folder is the user's: removing it through the contract is refused and it stays served.
    await expect(callOver(p, "models.remove", { name: served })).rejects.toThrow(
      new RegExp(
        `BAD_INPUT '${served}' is the model folder ${folder.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`,
      ),
    );
    expect((await client.models.list()).data.map((m) => m.id)).toContain(served);
    await stop(p);

    // Served only while that serve ran: the next one knows only the installed model.
    const next = await serve(["--model", "tiny", ...CPU]);
    expect(next.info.model).toBe(MODEL);
    const after = (await callOver(next, "models.list")) as { models: { name: string }[] };
    expect(after.models.map((m) => m.name)).toEqual([MODEL]);
    await stop(next);
  });

  it("answers a value that names nothing with what --model accepts and what is installed, in every command", async () => {
    const commands = [
      ["serve", "--port", "0", "--model", "no-such-model"],
      ["generate", "--model", "no-such-model", "--prompt", "Hello"],
      ["logits", "--model", "no-such-model", "--tokens", "1,2"],
    ];
    const lines: string[] = [];
    for (const args of commands) {
      const run = await elmwood(...args);
      expect(run.code).toBe(1);
      const stderr = run.stderr.trim().split("\n");
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).not.toContain("Invalid input");
      lines.push(stderr[0].replace(/^elmwood \w+: /, ""));
    }
    expect(lines[0]).toMatch(/^No installed model is named 'no-such-model'/);
    expect(lines[0]).toContain("an installed model's name");
    expect(lines[0]).toContain("the path of a converted model folder");
    expect(lines[0]).toContain(`Installed: ${MODEL}.`);
    expect(new Set(lines).size).toBe(1);
  });
});
