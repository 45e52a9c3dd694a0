/**
 * onnxruntime writes nothing for its telemetry: started from a shell without ORT_DISABLE_TELEMETRY,
 * with HOME, the cache folder and the temp folder pointed at a fresh directory, the CLI and the server
 * run a model load and a reply (the server also a search and a summary), and afterwards there is no
 * `Microsoft` folder in the cache (onnxruntime's device id and event queue) and no `mat-debug-<pid>.log`
 * for any of their processes.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServe } from "../server/serve-process.ts";
import { MODEL, makeServiceFixture, type ServiceFixture } from "../service/fixture.ts";
import { exerciseServer, writeDocuments } from "./scenario.ts";

let fx: ServiceFixture;
let sandbox: string;
let env: NodeJS.ProcessEnv;
const pids: number[] = [];

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: true });
  sandbox = join(fx.home, "..", "sandbox");
  await mkdir(join(sandbox, "tmp"), { recursive: true });
  // A user's shell: no ORT_DISABLE_TELEMETRY (the test runner sets it for itself), a home of its own.
  env = {
    ...process.env,
    ORT_DISABLE_TELEMETRY: undefined,
    HOME: sandbox,
    XDG_CACHE_HOME: join(sandbox, ".cache"),
    TMPDIR: join(sandbox, "tmp"),
    ELMWOOD_HOME: fx.home,
  };
}, 300_000);

afterAll(async () => {
  await fx?.cleanup();
});

/** When this file's tests began. */
const startedAt = Date.now();

async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const cache of [join(sandbox, ".cache"), join(sandbox, "Library", "Caches")]) {
    if (existsSync(join(cache, "Microsoft"))) found.push(join(cache, "Microsoft"));
  }
  for (const dir of ["/tmp", join(sandbox, "tmp")]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const pid of pids) {
      const path = join(dir, `mat-debug-${pid}.log`);
      if (!names.includes(path.slice(dir.length + 1))) continue;
      // /tmp is shared: a file an earlier process with the same pid left (before this test ran, by
      // another program or an older Elmwood) is not this run's.
      const { mtimeMs } = await stat(path);
      if (mtimeMs >= startedAt - 1000) found.push(path);
    }
  }
  return found;
}

describe("onnxruntime's telemetry", () => {
  it("leaves no device id, event queue or debug log from the CLI", async () => {
    const child = spawn(
      process.execPath,
      [
        "bin/elmwood.js",
        "generate",
        "--model",
        MODEL,
        "--prompt",
        "Hello",
        "--max-new-tokens",
        "4",
        "--provider",
        "cpu",
        "--json",
      ],
      { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    if (child.pid) pids.push(child.pid);
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "{}").tokens.length).toBeGreaterThan(0);
    expect(await leftovers()).toEqual([]);
  });

  it("leaves none from the server through a chat, a search and a summary", async () => {
    const docs = join(sandbox, "docs");
    await writeDocuments(docs);
    const serve = await spawnServe(["--provider", "cpu", "--threads", "1"], env);
    if (serve.child.pid) pids.push(serve.child.pid);
    try {
      await exerciseServer(serve, MODEL, docs);
    } finally {
      serve.child.kill("SIGTERM");
      await serve.exited;
    }
    expect(await leftovers()).toEqual([]);
  });
});
