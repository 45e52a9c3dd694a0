import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { expectedTensors, openCheckpoint } from "../../engine/openelm/checkpoint.ts";
import { parseOpenElmConfig } from "../../engine/openelm/config.ts";
import { parseSafetensorsBytes, readSafetensorsHeader, toFloat32 } from "../../engine/openelm/safetensors.ts";
import { bf16BitsToNumber, f16BitsToNumber, roundThrough } from "../support/half.ts";
import {
  type RandomCheckpointOptions,
  randomCheckpointConfig,
  SMALL_OPENELM,
  writeRandomCheckpoint,
} from "../support/random-checkpoint.ts";

/** Two layers, 512 tokens: every feature of the layout, small enough to write in milliseconds. */
const TINY: RandomCheckpointOptions = { numLayers: 2, modelDim: 128, headDim: 16, vocabSize: 512 };

interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** A safetensors file built by hand (independent of the random-checkpoint writer). */
function safetensorsBytes(tensors: RawTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function withHeader(header: unknown, dataBytes = 16): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function parseError(bytes: Uint8Array): ElmwoodError {
  try {
    parseSafetensorsBytes(bytes, "test.safetensors");
  } catch (error) {
    if (error instanceof ElmwoodError) return error;
    throw error;
  }
  throw new Error("expected the header to be rejected");
}

async function openError(dir: string): Promise<ElmwoodError> {
  try {
    const checkpoint = await openCheckpoint(dir);
    await checkpoint.close();
  } catch (error) {
    if (error instanceof ElmwoodError) return error;
    throw error;
  }
  throw new Error("expected the checkpoint to be rejected");
}

let root: string;
let counter = 0;
async function freshDir(): Promise<string> {
  counter += 1;
  return join(root, `c${counter}`);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-checkpoint-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("safetensors header", () => {
  it("lists each tensor's dtype, shape and absolute byte range, and the metadata", () => {
    const bytes = safetensorsBytes(
      [
        { name: "a", dtype: "F32", shape: [2, 2], data: f32Bytes([1, 2, 3, 4]) },
        { name: "b", dtype: "F16", shape: [3], data: new Uint8Array(6) },
      ],
      { format: "pt" },
    );
    const header = parseSafetensorsBytes(bytes, "t");
    expect(header.metadata).toEqual({ format: "pt" });
    expect(
      header.tensors.map((t) => [t.name, t.dtype, t.shape, t.offset - header.dataStart, t.byteLength]),
    ).toEqual([
      ["a", "F32", [2, 2], 0, 16],
      ["b", "F16", [3], 16, 6],
    ]);
    expect(
      Array.from(toFloat32(bytes.subarray(header.tensors[0].offset, header.tensors[0].offset + 16), "F32")),
    ).toEqual([1, 2, 3, 4]);
  });

  it("rejects a header length beyond the end of the file", () => {
    const bytes = withHeader({});
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    expect(parseError(bytes).message).toContain("header claims");
  });

  it("rejects a file shorter than the length prefix", () => {
    expect(parseError(new Uint8Array(5)).message).toContain("shorter");
  });

  it("rejects a header that is not JSON", () => {
    const bytes = withHeader({});
    bytes[8] = 0x7b + 1;
    expect(parseError(bytes).message).toContain("not UTF-8 JSON");
  });

  it("rejects an unknown dtype", () => {
    const error = parseError(withHeader({ w: { dtype: "F13", shape: [4], data_offsets: [0, 8] } }));
    expect(error.message).toContain('"w"');
    expect(error.message).toContain("dtype");
  });

  it("rejects a negative or fractional dimension", () => {
    expect(
      parseError(withHeader({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } })).message,
    ).toContain("shape");
    expect(
      parseError(withHeader({ w: { dtype: "F32", shape: [1.5], data_offsets: [0, 4] } })).message,
    ).toContain("shape");
  });

  it("rejects data offsets past the data", () => {
    const error = parseError(withHeader({ w: { dtype: "F32", shape: [8], data_offsets: [0, 32] } }, 16));
    expect(error.message).toContain("outside");
  });

  it("rejects a byte range that does not match the shape", () => {
    const error = parseError(withHeader({ w: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }));
    expect(error.message).toContain("needs 12 bytes");
  });

  it("rejects a shape whose size overflows instead of wrapping around", () => {
    const huge = [2 ** 40, 2 ** 40, 2 ** 40];
    const error = parseError(withHeader({ w: { dtype: "F32", shape: huge, data_offsets: [0, 16] } }));
    expect(error.message).toContain("needs");
  });

  it("rejects overlapping tensors", () => {
    const error = parseError(
      withHeader({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }),
    );
    expect(error.message).toContain("overlap");
  });

  it("rejects metadata that is not text", () => {
    expect(parseError(withHeader({ __metadata__: { n: 1 } })).message).toContain("metadata");
  });

  it("turns any mutated header into a parse or an ElmwoodError, never a crash", () => {
    const valid = safetensorsBytes(
      [
        { name: "transformer.norm.weight", dtype: "F32", shape: [4], data: f32Bytes([1, 2, 3, 4]) },
        { name: "x", dtype: "BF16", shape: [2, 3], data: new Uint8Array(12) },
      ],
      { format: "pt" },
    );
    let seed = 12345;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const counts = { tried: 0, parsed: 0, rejected: 0 };
    for (let trial = 0; trial < 4000; trial++) {
      let bytes = valid.slice();
      const kind = trial % 4;
      if (kind === 0) {
        // Flip a few bytes anywhere in the prefix or header.
        const headerEnd = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
        for (let k = 0; k <= random(4); k++) bytes[random(headerEnd)] = random(256);
      } else if (kind === 1) {
        bytes = bytes.slice(0, random(bytes.length + 1));
      } else if (kind === 2) {
        // A random length prefix, sometimes huge.
        new DataView(bytes.buffer).setUint32(random(2) * 4, random(2) ? random(200) : random(2 ** 31), true);
      } else {
        // Pure noise after a plausible length.
        for (let k = 8; k < bytes.length; k++) bytes[k] = random(256);
      }
      counts.tried++;
      try {
        parseSafetensorsBytes(bytes, "fuzz");
        counts.parsed++;
      } catch (error) {
        expect(error).toBeInstanceOf(ElmwoodError);
        counts.rejected++;
      }
    }
    expect(counts.tried).toBe(4000);
    expect(counts.rejected).toBeGreaterThan(3000);
    expect(counts.parsed + counts.rejected).toBe(counts.tried);
  });
});

describe("float conversion", () => {
  it("decodes every fp16 bit pattern to its value", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = toFloat32(new Uint8Array(all.buffer), "F16");
    for (let bits = 0; bits < 65536; bits++) {
      const want = f16BitsToNumber(bits);
      if (Number.isNaN(want)) expect(decoded[bits]).toBeNaN();
      else if (decoded[bits] !== want) expect([bits, decoded[bits]]).toEqual([bits, want]);
    }
  });

  it("decodes every bf16 bit pattern to its value", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = toFloat32(new Uint8Array(all.buffer), "BF16");
    for (let bits = 0; bits < 65536; bits++) {
      const want = bf16BitsToNumber(bits);
      if (Number.isNaN(want)) expect(decoded[bits]).toBeNaN();
      else if (decoded[bits] !== want) expect([bits, decoded[bits]]).toEqual([bits, want]);
    }
  });

  it("decodes tensor bytes that start at an odd offset", () => {
    const bytes = new Uint8Array(9);
    bytes.set(f32Bytes([1.5, -2]), 1);
    expect(Array.from(toFloat32(bytes.subarray(1), "F32"))).toEqual([1.5, -2]);
  });
});

describe("openCheckpoint", () => {
  let smallDir: string;

  beforeAll(async () => {
    smallDir = await freshDir();
    await writeRandomCheckpoint(smallDir, { ...SMALL_OPENELM, seed: 7 });
  });

  it("lists every expected tensor with its shape, file and size", async () => {
    const checkpoint = await openCheckpoint(smallDir);
    try {
      expect(checkpoint.config.layers.map((l) => [l.queryHeads, l.kvHeads, l.ffnDim])).toEqual([
        [4, 1, 256],
        [8, 2, 512],
        [8, 2, 768],
        [8, 2, 1024],
      ]);
      const expected = expectedTensors(checkpoint.config);
      expect(expected).toHaveLength(2 + 8 * 4);
      expect([...checkpoint.tensors.values()].map((t) => [t.name, t.shape])).toEqual(
        expected.map((e) => [e.name, e.shape]),
      );
      const elements = expected.reduce((sum, e) => sum + e.shape.reduce((a, b) => a * b, 1), 0);
      expect(checkpoint.totalBytes).toBe(elements * 4);
      expect(checkpoint.tensors.get("transformer.norm.weight")?.file).toBe(
        join(smallDir, "model.safetensors"),
      );
      expect(checkpoint.rawConfig.model_type).toBe("openelm");
    } finally {
      await checkpoint.close();
    }
  });

  it("reads a tensor's values from its place in the file", async () => {
    const checkpoint = await openCheckpoint(smallDir);
    try {
      const info = checkpoint.tensors.get("transformer.layers.2.attn.k_norm.weight");
      if (!info) throw new Error("tensor missing");
      const file = await readFile(info.file);
      const direct = new Float32Array(
        file.buffer.slice(file.byteOffset + info.offset, file.byteOffset + info.offset + info.byteLength),
      );
      const values = await checkpoint.readTensor(info.name);
      expect(values).toEqual(direct);
      expect(values).toHaveLength(32);
    } finally {
      await checkpoint.close();
    }
  });

  it("reads the same weights from shards as from a single file", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, { ...TINY, seed: 3, shards: 3 });
    const single = await freshDir();
    await writeRandomCheckpoint(single, { ...TINY, seed: 3 });
    const [a, b] = await Promise.all([openCheckpoint(dir), openCheckpoint(single)]);
    try {
      expect(new Set([...a.tensors.values()].map((t) => t.file)).size).toBe(3);
      for (const name of a.tensors.keys()) expect(await a.readTensor(name)).toEqual(await b.readTensor(name));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("reads fp16 and bf16 checkpoints as the rounded float32 weights", async () => {
    const dirs = { F32: await freshDir(), F16: await freshDir(), BF16: await freshDir() };
    for (const [dtype, dir] of Object.entries(dirs)) {
      await writeRandomCheckpoint(dir, { ...TINY, seed: 5, dtype: dtype as "F32" | "F16" | "BF16" });
    }
    const f32 = await openCheckpoint(dirs.F32);
    try {
      for (const dtype of ["F16", "BF16"] as const) {
        const half = await openCheckpoint(dirs[dtype]);
        try {
          expect(half.totalBytes).toBe(f32.totalBytes / 2);
          for (const name of [
            "transformer.token_embeddings.weight",
            "transformer.layers.1.ffn.proj_2.weight",
          ]) {
            expect(await half.readTensor(name)).toEqual(roundThrough(dtype, await f32.readTensor(name)));
          }
        } finally {
          await half.close();
        }
      }
    } finally {
      await f32.close();
    }
  });

  it("reads a config in the [min, max] form to the same shapes", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, { ...SMALL_OPENELM, vocabSize: 64, configForm: "ranges" });
    const raw = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(raw.num_query_heads).toBeUndefined();
    const checkpoint = await openCheckpoint(dir);
    await checkpoint.close();
    expect(checkpoint.config.layers).toEqual(
      parseOpenElmConfig(randomCheckpointConfig({ ...SMALL_OPENELM, vocabSize: 64 })).layers,
    );
  });

  it("says when the folder does not exist", async () => {
    const error = await openError(join(root, "nowhere"));
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain("nowhere");
  });

  it("says when config.json is missing", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, TINY);
    await rm(join(dir, "config.json"));
    const error = await openError(dir);
    expect(error.code).toBe("CHECKPOINT");
    expect(error.message).toContain("config.json");
  });

  it("says when the weights are missing, and that .bin weights are not read", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, TINY);
    await rm(join(dir, "model.safetensors"));
    expect((await openError(dir)).message).toContain("model.safetensors");
    await writeFile(join(dir, "pytorch_model.bin"), "");
    expect((await openError(dir)).hint).toContain("safetensors");
  });

  it("names the tensor whose shape does not match config.json", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, TINY);
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    config.ffn_multipliers = [4.0, 4.0];
    await writeFile(join(dir, "config.json"), JSON.stringify(config));
    const error = await openError(dir);
    expect(error.code).toBe("CHECKPOINT");
    expect(error.message).toContain('"transformer.layers.0.ffn.proj_1.weight"');
    expect(error.message).toContain("[512, 128]");
    expect(error.message).toContain("[1024, 128]");
  });

  it("names a missing tensor", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, { ...TINY, configForm: "ranges" });
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    await writeFile(join(dir, "config.json"), JSON.stringify({ ...config, num_transformer_layers: 3 }));
    const error = await openError(dir);
    expect(error.message).toContain('no tensor "transformer.layers.2.attn_norm.weight" (and 7 more)');
  });

  it("rejects an untied lm_head.weight by name", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, { ...TINY, shards: 2 });
    const indexPath = join(dir, "model.safetensors.index.json");
    const index = JSON.parse(await readFile(indexPath, "utf8"));
    index.weight_map["lm_head.weight"] = "extra.safetensors";
    await writeFile(indexPath, JSON.stringify(index));
    const data = new Uint8Array(512 * 128 * 4);
    await writeFile(
      join(dir, "extra.safetensors"),
      safetensorsBytes([{ name: "lm_head.weight", dtype: "F32", shape: [512, 128], data }]),
    );
    const error = await openError(dir);
    expect(error.message).toContain('"lm_head.weight"');
    expect(error.hint).toContain("ties");
  });

  it("rejects a shard index that points outside the folder", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, { ...TINY, shards: 2 });
    const indexPath = join(dir, "model.safetensors.index.json");
    const index = JSON.parse(await readFile(indexPath, "utf8"));
    index.weight_map["transformer.norm.weight"] = "../elsewhere.safetensors";
    await writeFile(indexPath, JSON.stringify(index));
    expect((await openError(dir)).message).toContain("transformer.norm.weight");
  });

  it("says which shard is missing", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, { ...TINY, shards: 2 });
    await rm(join(dir, "model-00002-of-00002.safetensors"));
    expect((await openError(dir)).message).toContain("model-00002-of-00002.safetensors");
  });

  it("rejects integer weights with a way forward", async () => {
    const dir = await freshDir();
    await writeRandomCheckpoint(dir, { ...TINY, shards: 2 });
    const path = join(dir, "model-00002-of-00002.safetensors");
    const header = await readSafetensorsHeader(path);
    const file = await readFile(path);
    const tensors = header.tensors.map((t) => ({
      name: t.name,
      dtype: t.name === "transformer.norm.weight" ? "I32" : t.dtype,
      shape: t.shape,
      data: file.subarray(t.offset, t.offset + t.byteLength),
    }));
    await writeFile(path, safetensorsBytes(tensors));
    const error = await openError(dir);
    expect(error.message).toContain("I32");
    expect(error.message).toContain("transformer.norm.weight");
  });
});
