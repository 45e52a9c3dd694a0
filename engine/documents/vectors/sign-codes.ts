/**
 * The first pass of a vector search: each vector reduced to its sign bits (384 dimensions -> 48
 * bytes), compared by Hamming distance. For unit vectors the fraction of differing signs estimates
 * the angle between them (random-hyperplane hashing), so the nearest codes are a superset worth
 * rescoring exactly. 100,000 codes are 4.8 MB and scan in a few milliseconds in plain JavaScript.
 */

/** Words per code for `dims` dimensions: whole groups of four, so the scan can take four at a time. */
export function codeWords(dims: number): number {
  return Math.ceil(dims / 128) * 4;
}

/** The sign bits of `v`, 32 dimensions per word (bit j of word w is dimension 32 w + j), zero-padded. */
export function signCode(v: Float32Array): Int32Array {
  const code = new Int32Array(codeWords(v.length));
  for (let i = 0; i < v.length; i++) if (v[i] > 0) code[i >>> 5] |= 1 << (i & 31);
  return code;
}

export function codeBytes(code: Int32Array): Uint8Array {
  return new Uint8Array(code.buffer, code.byteOffset, code.byteLength);
}

export function codeFromBytes(bytes: Uint8Array, words: number): Int32Array | undefined {
  if (bytes.byteLength !== words * 4) return undefined;
  const code = new Int32Array(words);
  new Uint8Array(code.buffer).set(bytes);
  return code;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Codes by id, in slots that are reused as ids come and go. */
export class SignCodeIndex {
  private codes: Int32Array;
  private ids: Float64Array;
  private readonly slotOf = new Map<number, number>();
  private readonly free: number[] = [];
  private used = 0;

  constructor(
    readonly words: number,
    capacity = 1024,
  ) {
    this.codes = new Int32Array(capacity * words);
    this.ids = new Float64Array(capacity).fill(-1);
  }

  get size(): number {
    return this.slotOf.size;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  set(id: number, code: Int32Array): void {
    let slot = this.slotOf.get(id);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.used++;
      if (slot >= this.ids.length) this.grow();
      this.slotOf.set(id, slot);
      this.ids[slot] = id;
    }
    this.codes.set(code.subarray(0, this.words), slot * this.words);
  }

  delete(id: number): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.slotOf.delete(id);
    this.ids[slot] = -1;
    this.free.push(slot);
  }

  clear(): void {
    this.slotOf.clear();
    this.free.length = 0;
    this.used = 0;
    this.ids.fill(-1);
  }

  /**
   * The ids of about `count` codes nearest to `query` (all of them at the cut-off distance are not
   * kept: ties past `count` are dropped), nearest first. `allowed` restricts the scan to those ids.
   */
  nearest(query: Int32Array, count: number, allowed?: ReadonlySet<number>): number[] {
    const words = this.words;
    const used = this.used;
    const distances = new Uint16Array(used);
    const histogram = new Uint32Array(words * 32 + 2);
    const skip = words * 32 + 1;
    const codes = this.codes;
    const ids = this.ids;
    for (let slot = 0, at = 0; slot < used; slot++, at += words) {
      const id = ids[slot];
      if (id < 0 || (allowed && !allowed.has(id))) {
        distances[slot] = skip;
        continue;
      }
      let d = 0;
      for (let w = 0; w < words; w += 4) {
        d +=
          popcount(codes[at + w] ^ query[w]) +
          popcount(codes[at + w + 1] ^ query[w + 1]) +
          popcount(codes[at + w + 2] ^ query[w + 2]) +
          popcount(codes[at + w + 3] ^ query[w + 3]);
      }
      distances[slot] = d;
      histogram[d]++;
    }
    // The smallest distance `cut` with at least `count` codes at or below it.
    let cut = 0;
    let below = 0;
    while (cut < skip && below + histogram[cut] < count) below += histogram[cut++];
    const byDistance: number[][] = Array.from({ length: Math.min(cut, skip - 1) + 1 }, () => []);
    let atCut = count - below;
    for (let slot = 0; slot < used; slot++) {
      const d = distances[slot];
      if (d < cut) byDistance[d].push(ids[slot]);
      else if (d === cut && d < skip && atCut > 0) {
        byDistance[d].push(ids[slot]);
        atCut--;
      }
    }
    return byDistance.flat();
  }

  private grow(): void {
    const capacity = this.ids.length * 2;
    const codes = new Int32Array(capacity * this.words);
    codes.set(this.codes);
    const ids = new Float64Array(capacity).fill(-1);
    ids.set(this.ids);
    this.codes = codes;
    this.ids = ids;
  }
}
