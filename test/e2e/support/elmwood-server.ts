/**
 * Elmwood in browser mode for the end-to-end tests: `elmwood serve` as its own process over a temp
 * ELMWOOD_HOME, exactly as a person starts it. Stopping it (SIGTERM) and starting it again on the same
 * home is a restart as a person would see one. Test setup talks to it through the same contract over
 * HTTP that the page uses.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { CallInput, CallName, CallOutput } from "../../../engine/api/contract.ts";
import { FakeHub, type FakeRepo } from "../../support/fake-hub.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../../support/random-checkpoint.ts";

const ELMWOOD = resolve(import.meta.dirname, "../../../bin/elmwood.js");

export interface Elmwood {
  /** The address with its token, as `elmwood serve` prints it. */
  url: string;
  origin: string;
  call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>>;
  stop(): Promise<void>;
  /** SIGKILL: the process dies on the spot, as in a crash or a power cut of the app alone. */
  kill(): Promise<void>;
}

/** The JSON line `serve --json` prints once it listens, or why it did not start. */
async function announced(child: ChildProcess): Promise<{ url: string; origin: string }> {
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolvePromise, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line) resolvePromise(JSON.parse(line) as { url: string; origin: string });
    });
    child.once("exit", (code) =>
      reject(new Error(`elmwood serve exited with ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}

/**
 * `xdgDataHome` starts it as a person does without ELMWOOD_HOME: the profile is then found in the
 * app-data folder under it ($XDG_DATA_HOME/elmwood, on Linux), or where profile-location.json there
 * says, and `home` is not used.
 */
export async function startElmwood(
  home: string,
  options: { hubUrl?: string; xdgDataHome?: string } = {},
): Promise<Elmwood> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ELMWOOD_HOME: home,
    HF_ENDPOINT: options.hubUrl ?? "http://127.0.0.1:9",
    HF_TOKEN: "",
    NODE_ENV: "production",
  };
  if (options.xdgDataHome) {
    delete env.ELMWOOD_HOME;
    env.XDG_DATA_HOME = options.xdgDataHome;
  }
  const child = spawn(process.execPath, [ELMWOOD, "serve", "--port", "0", "--json"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { url, origin } = await announced(child);
  const token = new URL(url).searchParams.get("token") ?? "";
  return {
    url,
    origin,
    async call(name, input) {
      const response = await fetch(`${origin}/api/call/${name}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(input),
      });
      const body = (await response.json()) as { ok?: boolean; value?: unknown };
      if (!response.ok || body.ok !== true) throw new Error(`${name}: ${JSON.stringify(body)}`);
      return body.value as CallOutput<typeof name>;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Waits until `check` holds, asking again every `everyMs`; fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Imports a fresh random checkpoint through the contract and waits until it is installed. */
export async function importModel(elmwood: Elmwood, checkpointDir: string, name: string): Promise<void> {
  await writeRandomCheckpoint(checkpointDir, { ...SMALL_OPENELM, seed: 11 });
  await elmwood.call("models.import", { path: checkpointDir, name, precision: "fp32" });
  await eventually(`the import of ${name}`, async () => {
    const { models } = await elmwood.call("models.list", {});
    return models.some((m) => m.name === name) ? true : undefined;
  });
}

/** A small random OpenELM checkpoint in the Hugging Face layout, as files for the fake hub. */
export async function checkpointFiles(dir: string, seed: number): Promise<Record<string, Uint8Array>> {
  // A 1024-token vocabulary keeps it small; the Llama tokenizer still decodes those ids.
  await writeRandomCheckpoint(dir, { ...SMALL_OPENELM, vocabSize: 1024, seed });
  const files: Record<string, Uint8Array> = {};
  for (const file of await readdir(dir)) files[file] = await readFile(join(dir, file));
  return files;
}

export async function startHub(repos: FakeRepo[]): Promise<FakeHub> {
  return FakeHub.start(repos);
}
