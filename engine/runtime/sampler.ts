/**
 * Choosing the next token from logits, in the order Hugging Face's generate applies its processors:
 * repetition penalty, then temperature, top-k, top-p and min-p, then a draw. Temperature 0 is greedy.
 * A seed makes the draws reproducible.
 */
import { ElmwoodError } from "../errors.ts";
import { seededRandom } from "./random.ts";

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy). */
  temperature: number;
  /** Keep the k most likely tokens; 0 keeps all. */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p; 1 keeps all. */
  topP: number;
  /** Drop tokens less likely than minP times the most likely one; 0 keeps all. */
  minP: number;
  /** Divide positive (multiply negative) logits of tokens already seen; 1 is off. */
  repetitionPenalty: number;
  seed?: number;
}

export const GREEDY: SamplingOptions = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 };

/** Chat defaults; OpenELM's model card recommends a repetition penalty of 1.2. */
export const CHAT_DEFAULTS: SamplingOptions = {
  temperature: 0.7,
  topK: 40,
  topP: 0.9,
  minP: 0,
  repetitionPenalty: 1.2,
};

export function validateSampling(options: SamplingOptions): SamplingOptions {
  const check = (ok: boolean, what: string) => {
    if (!ok)
      throw new ElmwoodError(
        "BAD_INPUT",
        `Invalid sampling setting: ${what}.`,
        "Fix the value and try again.",
      );
  };
  check(
    Number.isFinite(options.temperature) && options.temperature >= 0 && options.temperature <= 5,
    "temperature must be between 0 and 5",
  );
  check(Number.isInteger(options.topK) && options.topK >= 0, "top-k must be a whole number, 0 or more");
  check(
    Number.isFinite(options.topP) && options.topP > 0 && options.topP <= 1,
    "top-p must be above 0 and at most 1",
  );
  check(
    Number.isFinite(options.minP) && options.minP >= 0 && options.minP < 1,
    "min-p must be at least 0 and below 1",
  );
  check(
    Number.isFinite(options.repetitionPenalty) &&
      options.repetitionPenalty >= 1 &&
      options.repetitionPenalty <= 3,
    "repetition penalty must be between 1 and 3",
  );
  check(
    options.seed === undefined || (Number.isInteger(options.seed) && options.seed >= 0),
    "the seed must be a whole number, 0 or more",
  );
  return options;
}

/** Logits further than this below the best have probability under e^-30: never sampled in practice. */
const NEGLIGIBLE = 30;

export class Sampler {
  private readonly random: () => number;

  constructor(readonly options: SamplingOptions) {
    validateSampling(options);
    this.random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** Picks a token; `seen` are the token ids the repetition penalty applies to (prompt and reply). */
  sample(logits: Float32Array, seen: Iterable<number> = []): number {
    const { temperature, topK, topP, minP, repetitionPenalty } = this.options;
    const scores = repetitionPenalty !== 1 ? penalize(logits, seen, repetitionPenalty) : logits;
    if (temperature === 0) return argmax(scores);

    // Candidates sorted by score, best first (the temperature does not change the order). Only those
    // that can matter are sorted: the top k when k is set; otherwise those the top-p mass can reach,
    // with top-p's normalizer still taken over every candidate.
    let best = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < scores.length; i++) if (scores[i] > best) best = scores[i];
    const negligible = best - NEGLIGIBLE * temperature;
    const weight = (id: number) => Math.exp((scores[id] - best) / temperature);
    let ids: number[];
    let mass: number | undefined; // of all candidates, when `ids` holds only some of them
    if (topK > 0) {
      ids = bestK(scores, topK, negligible);
    } else if (topP < 1) {
      const cut = topPCut(scores, negligible, weight, topP);
      ids = above(scores, cut.floor);
      mass = cut.mass;
    } else {
      ids = above(scores, negligible);
    }
    ids.sort((x, y) => scores[y] - scores[x] || x - y);
    const probs = ids.map(weight);
    let total = mass ?? probs.reduce((s, p) => s + p, 0);
    let keep = ids.length;
    if (topP < 1) {
      let mass = 0;
      for (let i = 0; i < ids.length; i++) {
        mass += probs[i] / total;
        if (mass >= topP) {
          keep = i + 1;
          break;
        }
      }
    }
    if (minP > 0) {
      const threshold = minP * probs[0];
      let n = 0;
      while (n < keep && probs[n] >= threshold) n++;
      keep = Math.max(1, n);
    }
    total = 0;
    for (let i = 0; i < keep; i++) total += probs[i];
    let r = this.random() * total;
    for (let i = 0; i < keep; i++) {
      r -= probs[i];
      if (r < 0) return ids[i];
    }
    return ids[keep - 1];
  }
}

/** Ids whose score is at least `floor`. */
function above(scores: Float32Array, floor: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] >= floor) ids.push(i);
  return ids;
}

/**
 * The k best ids at or above `floor` (in no particular order), with a min-heap: one pass over the
 * vocabulary instead of sorting all of it. Ties at the k-th score keep the lower ids, as a full sort
 * by (score desc, id asc) would.
 */
function bestK(scores: Float32Array, k: number, floor: number): number[] {
  const heap: number[] = [];
  // The heap's root is the worst kept candidate: lowest score, and among equal scores the highest id.
  const worse = (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const siftDown = (start: number) => {
    let i = start;
    while (true) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l], heap[m])) m = l;
      if (r < heap.length && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let id = 0; id < scores.length; id++) {
    if (scores[id] < floor) continue;
    // Once the heap is full, almost every id scores below its root: one comparison rejects it.
    if (heap.length === k && scores[id] < scores[heap[0]]) continue;
    if (heap.length < k) {
      heap.push(id);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    } else if (worse(heap[0], id)) {
      heap[0] = id;
      siftDown(0);
    }
  }
  return heap;
}

/**
 * A score below which no token can be in the top-p set, and the probability mass of every candidate
 * (top-p's normalizer). The floor is found by bisection: the highest score t whose tokens at or above
 * it still hold at least p of the mass, so the smallest such prefix of the sorted candidates lies
 * above it and only those tokens need sorting. A few passes over the vocabulary cost far less than
 * sorting it.
 */
function topPCut(
  scores: Float32Array,
  negligible: number,
  weight: (id: number) => number,
  topP: number,
): { floor: number; mass: number } {
  const weights = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) if (scores[i] >= negligible) weights[i] = weight(i);
  const massAbove = (t: number) => {
    let m = 0;
    for (let i = 0; i < scores.length; i++) if (scores[i] >= t) m += weights[i];
    return m;
  };
  const mass = massAbove(negligible);
  let low = negligible; // holds all of the mass
  let high = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) if (scores[i] > high) high = scores[i];
  for (let step = 0; step < 12 && high - low > 1e-6; step++) {
    const middle = (low + high) / 2;
    if (massAbove(middle) >= topP * mass) low = middle;
    else high = middle;
  }
  // A hair lower, so summation order can never cut the boundary token: top-p itself is decided below.
  return { floor: low - 1e-4, mass };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function penalize(logits: Float32Array, seen: Iterable<number>, penalty: number): Float32Array {
  const out = Float32Array.from(logits);
  for (const id of new Set(seen)) {
    if (id < 0 || id >= out.length) continue;
    out[id] = out[id] > 0 ? out[id] / penalty : out[id] * penalty;
  }
  return out;
}
