/**
 * A small seedable random generator (sfc32): Math.random cannot be seeded, and a seed must give the
 * same draws everywhere (sampling with --seed, generated test checkpoints, fuzz inputs).
 */
export function sfc32(a: number, b: number, c: number, d: number): () => number {
  const next = () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // mix the seed in
  return next;
}

/** Uniform draws in [0, 1) from one 32-bit seed. */
export function seededRandom(seed: number): () => number {
  return sfc32(0x9e3779b9, 0x243f6a88, 0xb7e15162, seed >>> 0);
}
