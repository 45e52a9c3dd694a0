import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConversionProgress, convertCheckpoint, readManifest } from "../../engine/openelm/convert.ts";
import { ModelSession } from "../../engine/runtime/model-session.ts";
import { PROMPT, relativeError } from "../support/engine-fixtures.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../support/random-checkpoint.ts";
import { ReferenceModel } from "../support/reference.ts";

let root: string;
let checkpoint: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-convert-"));
  checkpoint = join(root, "checkpoint");
  await writeRandomCheckpoint(checkpoint, { ...SMALL_OPENELM, seed: 3 });
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe("conversion", () => {
  it("reports progress that only grows and ends complete, and writes a manifest whose hashes match", async () => {
    const events: ConversionProgress[] = [];
    const out = join(root, "int4");
    const manifest = await convertCheckpoint(checkpoint, out, {
      precision: "int4",
      onProgress: (p) => events.push(p),
    });
    const weights = events.filter((e) => e.phase === "weights");
    expect(weights.length).toBeGreaterThan(10);
    for (let i = 1; i < weights.length; i++)
      expect(weights[i].done).toBeGreaterThanOrEqual(weights[i - 1].done);
    expect(weights.at(-1)?.done).toBe(weights.at(-1)?.total);
    expect(events.at(-1)).toMatchObject({ phase: "finish", done: 1, total: 1 });

    expect(manifest.precision).toBe("int4");
    expect(manifest.quantization).toEqual({ bits: 4, blockSize: 128, symmetric: true });
    expect(manifest.layers.map((l) => l.queryHeads)).toEqual([4, 8, 8, 8]);
    for (const file of manifest.files) {
      const bytes = await readFile(join(out, file.path));
      expect(bytes.byteLength).toBe(file.bytes);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file.sha256);
    }
    expect((await readManifest(out)).manifest.name).toBe("int4");
  });

  it("a cancelled conversion leaves nothing behind", async () => {
    const controller = new AbortController();
    const out = join(root, "cancelled");
    let calls = 0;
    await expect(
      convertCheckpoint(checkpoint, out, {
        precision: "int8",
        signal: controller.signal,
        onProgress: () => {
          if (++calls === 5) controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: "CANCELLED" });
    const left = await readdir(root);
    expect(left.filter((name) => name.includes("cancelled"))).toEqual([]);
  });

  it("refuses to overwrite an existing folder unless asked", async () => {
    const out = join(root, "twice");
    await convertCheckpoint(checkpoint, out, { precision: "fp32" });
    await expect(convertCheckpoint(checkpoint, out, { precision: "fp32" })).rejects.toThrow(/already exists/);
    const replaced = await convertCheckpoint(checkpoint, out, { precision: "int8", overwrite: true });
    expect((await readManifest(out)).manifest.precision).toBe(replaced.precision);
  });

  it("a model folder with a truncated data file is refused with the file named", async () => {
    const broken = join(root, "broken");
    await convertCheckpoint(checkpoint, broken, { precision: "int4" });
    await truncate(join(broken, "model.onnx.data"), 1000);
    await expect(readManifest(broken)).rejects.toThrow(/model\.onnx\.data is 1000 bytes/);
  });

  it.each([
    ["BF16", 1],
    ["F16", 1],
    ["F32", 3],
  ] as const)(
    "a %s checkpoint in %i file(s) converts and matches the reference read from it",
    async (dtype, shards) => {
      const source = join(root, `ck-${dtype}-${shards}`);
      await writeRandomCheckpoint(source, { ...SMALL_OPENELM, seed: 5, dtype, shards });
      const out = join(root, `model-${dtype}-${shards}`);
      await convertCheckpoint(source, out, { precision: "fp32" });
      const session = await ModelSession.load(out, { provider: "cpu", threads: 2 });
      try {
        const reference = await ReferenceModel.load(source);
        const { logits } = await session.logitsFor(PROMPT);
        expect(relativeError(logits, reference.forward(PROMPT).at(-1) as Float64Array)).toBeLessThan(1e-4);
      } finally {
        await session.close();
      }
    },
  );
});
