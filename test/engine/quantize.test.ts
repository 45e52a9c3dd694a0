import { describe, expect, it } from "vitest";
import {
  dequantize,
  quantizeBlockwise,
  quantizeWeights,
  rowsAsBlocks,
  rowsAsGemm,
} from "../../engine/openelm/quantize.ts";

describe("block quantization", () => {
  it("packs 4-bit codes low nibble first with the implicit zero point 8", () => {
    const w = Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? -8 : i === 1 ? 7 : 0));
    const q = quantizeBlockwise(w, 1, 32, 4);
    expect(q.scales[0]).toBe(1); // the largest magnitude (-8) maps exactly onto code -8
    expect(q.data[0]).toBe(0 | (15 << 4)); // -8 + 8 = 0 in the low nibble, 7 + 8 = 15 in the high one
    expect(q.data[1]).toBe(8 | (8 << 4));
  });

  it("round-trips within half a step, or one step where the sign opposite the block's extreme clamps", () => {
    const rows = 3;
    const cols = 80; // not a multiple of the block: the last block is padded
    const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 7)));
    for (const bits of [4, 8] as const) {
      const q = quantizeBlockwise(w, rows, cols, bits);
      expect(q.blocksPerRow).toBe(3);
      const back = dequantize(q);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < cols; k++) {
          const scale = q.scales[r * q.blocksPerRow + Math.floor(k / 32)];
          const code = w[r * cols + k] / scale;
          const clamped = code > (bits === 4 ? 7.5 : 127.5);
          const bound = (clamped ? 1 : 0.5) * Math.abs(scale) + 1e-6;
          expect(Math.abs(back[r * cols + k] - w[r * cols + k])).toBeLessThanOrEqual(bound);
        }
      }
    }
  });

  it("an all-zero block decodes to zeros", () => {
    const q = quantizeBlockwise(new Float32Array(64), 2, 32, 4);
    expect(Array.from(dequantize(q)).every((x) => x === 0)).toBe(true);
  });
});

describe("int8 with a scale per row", () => {
  const rows = 3;
  const cols = 80; // not a multiple of 32: the blocked layout pads its last block
  const w = Float32Array.from(
    { length: rows * cols },
    (_, i) => Math.cos(i * 0.9) * (1 + (i % 5)) * (1 + (i % 3)),
  );
  const q = quantizeWeights(w, rows, cols, 8, 32);

  it("has one scale per row, and int4 keeps its blocks", () => {
    expect(q.blocksPerRow).toBe(1);
    expect(q.scales).toHaveLength(rows);
    expect(quantizeWeights(w, rows, cols, 4, 32).blocksPerRow).toBe(3);
  });

  it("lays out MatMulNBits' blocks with the row's scale in each, padded with zeros", () => {
    const blocks = rowsAsBlocks(q, 32);
    expect(blocks.blocksPerRow).toBe(3);
    expect(blocks.data).toHaveLength(rows * 3 * 32);
    expect(Array.from(blocks.scales)).toEqual(Array.from(q.scales).flatMap((s) => [s, s, s]));
    expect(Array.from(dequantize(blocks))).toEqual(Array.from(dequantize(q)));
    expect(Array.from(blocks.data.subarray(80, 96))).toEqual(new Array(16).fill(128)); // row 0's padding
  });

  it("lays out the int8 GEMM's weight as signed codes, transposed to [K, N]", () => {
    const gemm = rowsAsGemm(q);
    const back = dequantize(q);
    expect(gemm.data).toHaveLength(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        expect(gemm.data[c * rows + r] * gemm.scales[r]).toBeCloseTo(back[r * cols + c], 6);
      }
    }
    expect(() => rowsAsGemm(quantizeBlockwise(w, rows, cols, 8))).toThrow(/a scale per row/);
  });
});
