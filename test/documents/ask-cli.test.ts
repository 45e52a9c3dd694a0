/**
 * `elmwood ask` answers from a folder's passages with the real (small, random) model: a folder not
 * indexed yet is indexed first, words and meaning, and the JSON holds the answer and every passage it
 * was given with its path, location and snippet.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { installRandomEmbedding } from "../support/embedding-model.ts";
import { type EngineFixture, makeEngineFixture } from "../support/engine-fixtures.ts";

const run = promisify(execFile);
let fx: EngineFixture;
beforeAll(async () => {
  fx = await makeEngineFixture(["int4"]);
});
afterAll(async () => fx?.cleanup());

it("elmwood ask --folder indexes the folder first and answers with its passages", async () => {
  const home = join(fx.root, "home");
  await installRandomEmbedding(home);
  const bills = join(fx.root, "bills");
  await mkdir(bills);
  await writeFile(
    join(bills, "march.md"),
    "# March\n\nThe billing statement for March is due on the fifth of April.\n",
  );
  await writeFile(join(bills, "phone.txt"), "The phone invoice lists three payments.\n");
  const { stdout, stderr } = await run(
    process.execPath,
    [
      resolve("bin/elmwood.js"),
      "ask",
      "When is the statement due?",
      "--folder",
      bills,
      "--model",
      fx.models.int4,
      "--json",
    ],
    { env: { ...process.env, ELMWOOD_HOME: home }, maxBuffer: 16 << 20 },
  );
  expect(stderr).toContain(`indexing ${bills} first`);
  const result = JSON.parse(stdout.trim().split("\n").at(-1) as string);
  expect(result.question).toBe("When is the statement due?");
  expect(typeof result.answer).toBe("string");
  expect(result.sources.length).toBeGreaterThan(0);
  const march = result.sources.find((s: { path: string }) => s.path === join(bills, "march.md"));
  expect(march).toMatchObject({
    location: "March",
    matched: expect.stringMatching(/^(words|meaning|both)$/),
  });
  expect(march.snippet).toContain("due on the fifth");
  // Citations are the sources the answer cites, each with the same fields.
  for (const cited of result.citations) expect(result.sources).toContainEqual(cited);

  const bad = await run(process.execPath, [resolve("bin/elmwood.js"), "ask", "--json"], {
    env: { ...process.env, ELMWOOD_HOME: home },
  }).catch((e: { code: number; stderr: string }) => e);
  expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining("There is no question") });
});
