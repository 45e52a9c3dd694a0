import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type EngineFixture, makeEngineFixture } from "../support/engine-fixtures.ts";

const run = promisify(execFile);
let fx: EngineFixture;
beforeAll(async () => {
  fx = await makeEngineFixture(["int4"]);
});
afterAll(async () => fx?.cleanup());

it("elmwood summarize maps a document several windows long through the real model and reports each part", async () => {
  const file = join(fx.root, "report.md");
  const section = (n: number) =>
    `## Section ${n}\n\n${`The harbour master recorded ${n} ships arriving with grain and timber before the storm. `.repeat(60)}\n\n`;
  await writeFile(file, Array.from({ length: 6 }, (_, i) => section(i + 1)).join(""));
  const { stdout, stderr } = await run(
    process.execPath,
    ["bin/elmwood.js", "summarize", file, "--model", fx.models.int4, "--style", "bullets", "--json"],
    { env: { ...process.env, ELMWOOD_HOME: join(fx.root, "home") }, maxBuffer: 16 << 20 },
  );
  const result = JSON.parse(stdout.trim().split("\n").at(-1) as string);
  expect(result.style).toBe("bullets");
  expect(result.parts.length).toBeGreaterThan(1);
  expect(result.parts.map((p: { location: string }) => p.location).join(" ")).toMatch(/Section 1/);
  expect(typeof result.summary).toBe("string");
  expect(stderr).toMatch(new RegExp(`part ${result.parts.length} of ${result.parts.length}`));
});
