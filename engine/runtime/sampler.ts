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

    // Candidates sorted by score, best first; the temperature does not change the order.
    let best = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < scores.length; i++) if (scores[i] > best) best = scores[i];
    const floor = best - NEGLIGIBLE * temperature;
    let ids: number[] = [];
    for (let i = 0; i < scores.length; i++) if (scores[i] >= floor) ids.push(i);
    ids.sort((x, y) => scores[y] - scores[x] || x - y);
    if (topK > 0 && ids.length > topK) ids = ids.slice(0, topK);

    const probs = ids.map((id) => Math.exp((scores[id] - best) / temperature));
    let total = probs.reduce((s, p) => s + p, 0);
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
