/**
 * Block-wise symmetric weight quantization in the layout onnxruntime's MatMulNBits and
 * GatherBlockQuantized read: a weight [N, K] (the checkpoint's [out, in]) is cut into blocks of
 * `blockSize` along K; each block has one float scale and uses the implicit zero point
 * (8 for 4-bit, 128 for 8-bit). 4-bit values are packed two to a byte, low nibble first.
 *
 * int8 weights get one scale per row (per output) instead, so that onnxruntime's int8 GEMM, which takes
 * a scale per output column, and MatMulNBits, which takes one per block, read the same numbers:
 * `rowsAsBlocks` and `rowsAsGemm` lay one quantized matrix out for each.
 */
export type QuantBits = 4 | 8;

export interface QuantizedMatrix {
  bits: QuantBits;
  blockSize: number;
  rows: number; // N
  cols: number; // K
  blocksPerRow: number;
  /** [N, blocksPerRow, blockSize * bits / 8] bytes. */
  data: Uint8Array;
  /** [N * blocksPerRow] scales. */
  scales: Float32Array;
}

/**
 * Quantizes a row-major [rows, cols] matrix. The scale maps the block's largest-magnitude weight
 * exactly onto the most negative code (-8 or -128), which uses the whole signed range.
 */
export function quantizeBlockwise(
  weights: Float32Array,
  rows: number,
  cols: number,
  bits: QuantBits,
  blockSize = 32,
): QuantizedMatrix {
  if (weights.length !== rows * cols) {
    throw new Error(`quantizeBlockwise: ${weights.length} values for a [${rows}, ${cols}] matrix`);
  }
  const blocksPerRow = Math.ceil(cols / blockSize);
  const bytesPerBlock = (blockSize * bits) / 8;
  const data = new Uint8Array(rows * blocksPerRow * bytesPerBlock);
  const scales = new Float32Array(rows * blocksPerRow);
  const qmin = bits === 4 ? -8 : -128;
  const qmax = bits === 4 ? 7 : 127;
  const zero = -qmin;
  const codes = new Uint8Array(blockSize);

  for (let r = 0; r < rows; r++) {
    const rowBase = r * cols;
    for (let b = 0; b < blocksPerRow; b++) {
      const start = b * blockSize;
      const end = Math.min(start + blockSize, cols);
      let extreme = 0;
      for (let k = start; k < end; k++) {
        const w = weights[rowBase + k];
        if (Math.abs(w) > Math.abs(extreme)) extreme = w;
      }
      const scale = extreme / qmin;
      const inverse = scale === 0 ? 0 : 1 / scale;
      scales[r * blocksPerRow + b] = scale;
      codes.fill(zero); // padding past the row's end decodes to 0
      for (let k = start; k < end; k++) {
        const q = Math.round(weights[rowBase + k] * inverse);
        codes[k - start] = Math.min(qmax, Math.max(qmin, q)) + zero;
      }
      const out = (r * blocksPerRow + b) * bytesPerBlock;
      if (bits === 8) {
        data.set(codes, out);
      } else {
        for (let i = 0; i < blockSize; i += 2) data[out + i / 2] = codes[i] | (codes[i + 1] << 4);
      }
    }
  }
  return { bits, blockSize, rows, cols, blocksPerRow, data, scales };
}

/** The float matrix a quantized one stands for: what onnxruntime computes with at accuracy level 0. */
export function dequantize(q: QuantizedMatrix): Float32Array {
  const out = new Float32Array(q.rows * q.cols);
  const bytesPerBlock = (q.blockSize * q.bits) / 8;
  const zero = q.bits === 4 ? 8 : 128;
  for (let r = 0; r < q.rows; r++) {
    for (let b = 0; b < q.blocksPerRow; b++) {
      const scale = q.scales[r * q.blocksPerRow + b];
      const base = (r * q.blocksPerRow + b) * bytesPerBlock;
      for (let i = 0; i < q.blockSize; i++) {
        const k = b * q.blockSize + i;
        if (k >= q.cols) break;
        const code = q.bits === 8 ? q.data[base + i] : (q.data[base + (i >> 1)] >> ((i & 1) * 4)) & 0x0f;
        out[r * q.cols + k] = (code - zero) * scale;
      }
    }
  }
  return out;
}

/** What each precision stores: int4 in blocks along K, int8 with one scale per row. */
export function quantizeWeights(
  weights: Float32Array,
  rows: number,
  cols: number,
  bits: QuantBits,
  blockSize: number,
): QuantizedMatrix {
  return quantizeBlockwise(weights, rows, cols, bits, bits === 8 ? cols : blockSize);
}

function expectRows(q: QuantizedMatrix): void {
  if (q.bits !== 8 || q.blocksPerRow !== 1) throw new Error("expected an 8-bit matrix with a scale per row");
}

/**
 * A per-row 8-bit matrix in MatMulNBits' and GatherBlockQuantized's layout, [N, blocks, blockSize]
 * bytes: each block carries its row's scale, and padding past the row's end decodes to 0.
 */
export function rowsAsBlocks(q: QuantizedMatrix, blockSize: number): QuantizedMatrix {
  expectRows(q);
  const blocksPerRow = Math.ceil(q.cols / blockSize);
  const data = new Uint8Array(q.rows * blocksPerRow * blockSize).fill(128);
  const scales = new Float32Array(q.rows * blocksPerRow);
  for (let r = 0; r < q.rows; r++) {
    data.set(q.data.subarray(r * q.cols, (r + 1) * q.cols), r * blocksPerRow * blockSize);
    scales.fill(q.scales[r], r * blocksPerRow, (r + 1) * blocksPerRow);
  }
  return { bits: 8, blockSize, rows: q.rows, cols: q.cols, blocksPerRow, data, scales };
}

/**
 * A per-row 8-bit matrix as the int8 GEMM's weight: signed codes (the stored code minus its zero
 * point 128) transposed to [K = cols, N = rows], and the row scales, one per output column there.
 */
export function rowsAsGemm(q: QuantizedMatrix): { data: Int8Array; scales: Float32Array } {
  expectRows(q);
  const data = new Int8Array(q.rows * q.cols);
  for (let r = 0; r < q.rows; r++) {
    const row = r * q.cols;
    for (let c = 0; c < q.cols; c++) data[c * q.rows + r] = q.data[row + c] - 128;
  }
  return { data, scales: q.scales };
}
