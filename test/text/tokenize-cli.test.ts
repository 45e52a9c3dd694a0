import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);

async function elmwood(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/elmwood.js", ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("elmwood tokenize", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "elmwood-tokenize-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints a file's token ids, without <s>, as one JSON object on the last line", async () => {
    const file = join(dir, "hello.txt");
    await writeFile(file, "Hello world");
    const result = await elmwood("tokenize", "--file", file, "--json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1) as string)).toEqual({ tokens: [15043, 3186] });
  });

  it("refuses --text together with --file in one line on stderr and a non-zero exit", async () => {
    const result = await elmwood("tokenize", "--text", "hi", "--file", join(dir, "missing.txt"));
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toEqual([
      expect.stringContaining("exactly one of --text or --file"),
    ]);
  });
});
