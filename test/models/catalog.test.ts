import { describe, expect, it } from "vitest";
import { countParameters, parseOpenElmConfig } from "../../engine/openelm/config.ts";
import { CATALOG, estimate, findCatalogEntry, recommendedModel } from "../../models/catalog.ts";
import { randomCheckpointConfig } from "../support/random-checkpoint.ts";

const GB = 1e9;

describe("catalog", () => {
  it("lists the eight published checkpoints, base and Instruct of each size", () => {
    expect(CATALOG.map((e) => e.repoId)).toEqual([
      "apple/OpenELM-270M",
      "apple/OpenELM-270M-Instruct",
      "apple/OpenELM-450M",
      "apple/OpenELM-450M-Instruct",
      "apple/OpenELM-1_1B",
      "apple/OpenELM-1_1B-Instruct",
      "apple/OpenELM-3B",
      "apple/OpenELM-3B-Instruct",
    ]);
    expect(findCatalogEntry("OPENELM-450M-instruct")?.repoId).toBe("apple/OpenELM-450M-Instruct");
    expect(findCatalogEntry("apple/openelm-3b")?.slug).toBe("openelm-3b");
  });

  it("states parameter counts and KV sizes that the engine's config derivation agrees with", () => {
    for (const entry of CATALOG) {
      const headDim = entry.size === "3B" ? 128 : 64;
      const config = parseOpenElmConfig(
        randomCheckpointConfig({ numLayers: entry.layers, modelDim: entry.modelDim, headDim }),
      );
      expect(countParameters(config), entry.repoId).toBe(entry.parameters);
      const kvHeads = config.layers.reduce((sum, l) => sum + l.kvHeads, 0);
      expect(entry.kvBytesPerToken, entry.repoId).toBe(kvHeads * headDim * 2 * 4);
      expect(entry.contextLength).toBe(config.maxContextLength);
    }
  });

  it("estimates less disk and memory for each step down in precision", () => {
    for (const entry of CATALOG) {
      const [fp32, int8, int4] = (["fp32", "int8", "int4"] as const).map((p) => estimate(entry, p));
      expect(fp32.diskBytes).toBe(entry.parameters * 4);
      // int8 keeps part of its weights in a second layout on disk (the CPU's int8 GEMM), not in memory.
      expect(int8.diskBytes).toBeLessThan(fp32.diskBytes / 2);
      expect(int8.memoryBytes).toBeLessThan(fp32.memoryBytes / 2);
      expect(int4.diskBytes).toBeLessThan(int8.diskBytes);
      expect(int4.memoryBytes).toBeGreaterThan(int4.diskBytes);
    }
  });

  it("recommends 270M-Instruct, and a larger Instruct model only where memory allows", () => {
    expect(recommendedModel(4 * GB, "int4", 16).repoId).toBe("apple/OpenELM-270M-Instruct");
    expect(recommendedModel(8 * GB, "int4", 16).repoId).toBe("apple/OpenELM-270M-Instruct");
    expect(recommendedModel(16 * GB, "int4", 16).repoId).toBe("apple/OpenELM-450M-Instruct");
    expect(recommendedModel(32 * GB, "int4", 16).repoId).toBe("apple/OpenELM-1_1B-Instruct");
    expect(recommendedModel(64 * GB, "int4", 16).repoId).toBe("apple/OpenELM-3B-Instruct");
    // Few cores: the smallest model answers fast enough to chat, whatever the memory.
    expect(recommendedModel(64 * GB, "int4", 4).repoId).toBe("apple/OpenELM-270M-Instruct");
  });
});
