/**
 * Search by meaning from the command line, with a random BERT installed as the embedding model:
 * `index add` gives every passage a vector after indexing its words, a SIGKILL in the middle of that
 * leaves a consistent index that `index sync` completes, and `search --json` says what matched.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, scalar } from "../../engine/store/database.ts";
import { installRandomEmbedding } from "../support/embedding-model.ts";
import { tempDir } from "./fixtures.ts";
import { assertIndexConsistent } from "./helpers.ts";

const ELMWOOD = resolve("bin/elmwood.js");

function elmwood(
  args: string[],
  home: string,
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [ELMWOOD, ...args], {
    env: { ...process.env, ELMWOOD_HOME: home, HOME: home },
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((ok) => child.on("close", (code, signal) => ok({ code, signal, stdout, stderr })));
  return { child, done };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop() ?? "null");

/** Every vector belongs to a chunk that is there, and the vector table is whole. */
function assertVectorsConsistent(home: string): { embedded: number; total: number } {
  const db = openDatabase(join(home, "elmwood.db"));
  try {
    assertIndexConsistent(db);
    expect(scalar(db, "PRAGMA integrity_check")).toBe("ok");
    const orphans = scalar(
      db,
      "SELECT COUNT(*) FROM doc_vectors v LEFT JOIN doc_chunks c ON c.id = v.chunk_id WHERE c.id IS NULL",
    );
    expect(orphans).toBe(0);
    return {
      embedded: Number(scalar(db, "SELECT COUNT(*) FROM doc_vectors")),
      total: Number(scalar(db, "SELECT COUNT(*) FROM doc_chunks")),
    };
  } finally {
    db.close();
  }
}

describe("search by meaning (CLI)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("indexes words then meaning, and search --json says which matched", async () => {
    const home = join(dir, "home");
    await installRandomEmbedding(home);
    const docs = join(dir, "docs");
    await mkdir(docs);
    await writeFile(join(docs, "bill.txt"), "Your billing statement for March lists three charges.\n");
    await writeFile(join(docs, "garden.txt"), "Tulips bloom early in the garden.\n");

    const before = await elmwood(["search", "garden", "--json"], home).done;
    expect(lastJson(before.stdout)).toMatchObject({ hits: [], meaning: { state: "waiting" } });

    const added = await elmwood(["index", "add", docs, "--json"], home).done;
    expect(added.code).toBe(0);
    expect(lastJson(added.stdout).meaning).toMatchObject({ state: "ready", embedded: 2, total: 2 });

    const found = await elmwood(["search", "garden", "--json"], home).done;
    const result = lastJson(found.stdout);
    expect(result.mode).toBe("hybrid");
    const garden = result.hits.find((h: { path: string }) => h.path.endsWith("garden.txt"));
    expect(garden.matched).toBe("both");
    for (const hit of result.hits) expect(["words", "meaning", "both"]).toContain(hit.matched);

    const text = await elmwood(["search", "garden"], home).done;
    expect(text.stdout).toMatch(/\[both\]/);
  });

  it("says search is by words only when no embedding model is installed", async () => {
    const home = join(dir, "home");
    const docs = join(dir, "docs");
    await mkdir(docs);
    await writeFile(join(docs, "a.txt"), "A garden note.\n");
    await elmwood(["index", "add", docs], home).done;
    const found = await elmwood(["search", "garden"], home).done;
    expect(found.stderr).toMatch(
      /words only: no embedding model is installed \(elmwood models pull all-minilm-l6-v2\)/,
    );
    const json = lastJson((await elmwood(["search", "garden", "--json"], home).done).stdout);
    expect(json).toMatchObject({ mode: "words", meaning: { state: "no-model" } });
    expect(json.hits[0].matched).toBe("words");
  });

  it("killed in the middle of embedding, leaves a consistent index that index sync completes", async () => {
    const home = join(dir, "home");
    // Wide enough that embedding takes seconds, so the kill lands in the middle of it.
    await installRandomEmbedding(home, { layers: 4, hidden: 128, heads: 4, intermediate: 512, seed: 9 });
    const docs = join(dir, "docs");
    await mkdir(docs);
    const filler = "Quarterly notes on harvests, rivers and the weather in the valley. ".repeat(12);
    for (let i = 0; i < 200; i++)
      await writeFile(join(docs, `note${i}.txt`), `Marker ${i}. ${filler}\n\n${filler}`);

    const first = elmwood(["index", "add", docs], home);
    first.child.stderr?.on("data", (d: Buffer) => {
      const progress = /meaning: (\d+)\/(\d+)/.exec(d.toString());
      if (progress && Number(progress[1]) > 0) first.child.kill("SIGKILL");
    });
    const killed = await first.done;
    expect(killed.signal).toBe("SIGKILL");
    const partial = assertVectorsConsistent(home);
    expect(partial.embedded).toBeGreaterThan(0);
    expect(partial.embedded).toBeLessThan(partial.total);

    const resumed = await elmwood(["index", "sync", "--json"], home).done;
    expect(resumed.code).toBe(0);
    expect(lastJson(resumed.stdout).meaning).toMatchObject({
      state: "ready",
      total: partial.total,
      embedded: partial.total,
    });
    expect(assertVectorsConsistent(home)).toEqual({ embedded: partial.total, total: partial.total });
  });
});
