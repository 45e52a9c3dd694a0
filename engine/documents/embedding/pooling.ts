/**
 * From token vectors to one sentence vector, as sentence-transformers does it: the mean of the token
 * vectors where the attention mask is 1 (padding left out), or the first ([CLS]) token's vector;
 * then, when the model ends with a Normalize module, division by the L2 norm (so cosine similarity
 * is a dot product).
 */
import type { Pooling } from "./model-files.ts";

/**
 * `hidden` is [batch, seq, dims] row-major; `lengths[b]` is how many leading positions of row b are
 * real tokens (the rest is padding). Returns one vector per row.
 */
export function poolSentences(
  hidden: Float32Array,
  lengths: readonly number[],
  seq: number,
  dims: number,
  pooling: Pooling,
  normalize: boolean,
): Float32Array[] {
  return lengths.map((length, b) => {
    const out = new Float32Array(dims);
    const row = b * seq * dims;
    if (pooling === "cls") {
      out.set(hidden.subarray(row, row + dims));
    } else {
      // Summed in float64: 256 tokens of float32 would lose the low bits the reference keeps.
      const sum = new Float64Array(dims);
      for (let t = 0; t < length; t++) {
        const at = row + t * dims;
        for (let i = 0; i < dims; i++) sum[i] += hidden[at + i];
      }
      const count = Math.max(length, 1e-9);
      for (let i = 0; i < dims; i++) out[i] = sum[i] / count;
    }
    return normalize ? normalized(out) : out;
  });
}

/** v / max(|v|, 1e-12), in place (torch.nn.functional.normalize's epsilon). */
export function normalized(v: Float32Array): Float32Array {
  let squares = 0;
  for (let i = 0; i < v.length; i++) squares += v[i] * v[i];
  const scale = 1 / Math.max(Math.sqrt(squares), 1e-12);
  for (let i = 0; i < v.length; i++) v[i] *= scale;
  return v;
}
