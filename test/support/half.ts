/**
 * fp16 and bf16 encoding for test checkpoints, written independently of the engine's decoder so a
 * round trip through both checks each against the other. Round-to-nearest-even, as PyTorch casts.
 */
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

function f32Bits(value: number): number {
  scratch[0] = value;
  return scratchBits[0];
}

/** The IEEE half-precision bits nearest to value (ties to even; overflow to infinity). */
export function f32ToF16Bits(value: number): number {
  const x = f32Bits(value);
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: count units of 2^-24 from the 24-bit significand.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (rest > midpoint || (rest === midpoint && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** The bfloat16 bits nearest to value (ties to even). */
export function f32ToBf16Bits(value: number): number {
  const x = f32Bits(value);
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The value of half-precision bits. */
export function f16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  if (exponent === 0) return sign * 2 ** -14 * (mantissa / 1024);
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/** The value of bfloat16 bits. */
export function bf16BitsToNumber(bits: number): number {
  scratchBits[0] = (bits & 0xffff) << 16;
  return scratch[0];
}

/** Rounds each value to the nearest fp16 / bf16 value, as storing and reloading it would. */
export function roundThrough(dtype: "F16" | "BF16", values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] =
      dtype === "F16" ? f16BitsToNumber(f32ToF16Bits(values[i])) : bf16BitsToNumber(f32ToBf16Bits(values[i]));
  }
  return out;
}
