import { describe, expect, it } from "vitest";
import { seededRandom } from "../../engine/runtime/random.ts";
import { GREEDY, Sampler, type SamplingOptions } from "../../engine/runtime/sampler.ts";

const logits = Float32Array.from([2.0, 1.5, 1.0, 0.5, 0.0, -1.0, 3.0, 2.9]);
const sampled = (options: Partial<SamplingOptions>, draws = 400, seen: number[] = []) => {
  const sampler = new Sampler({ ...GREEDY, temperature: 1, seed: 42, ...options });
  return Array.from({ length: draws }, () => sampler.sample(logits, seen));
};
const distinct = (xs: number[]) => new Set(xs);

describe("sampler", () => {
  it("greedy picks the highest logit", () => {
    expect(new Sampler(GREEDY).sample(logits)).toBe(6);
  });

  it("the same seed gives the same draws, a different seed different ones", () => {
    expect(sampled({ seed: 7 })).toEqual(sampled({ seed: 7 }));
    expect(sampled({ seed: 7 })).not.toEqual(sampled({ seed: 8 }));
  });

  it("temperature sampling follows the softmax distribution", () => {
    const draws = sampled({}, 4000);
    const share = (id: number) => draws.filter((d) => d === id).length / draws.length;
    const z = Array.from(logits).reduce((s, x) => s + Math.exp(x), 0);
    expect(share(6)).toBeCloseTo(Math.exp(3) / z, 1);
    expect(share(0)).toBeCloseTo(Math.exp(2) / z, 1);
  });

  it("top-k keeps only the k most likely tokens", () => {
    expect(distinct(sampled({ topK: 2 }))).toEqual(new Set([6, 7]));
  });

  it("top-p keeps the smallest set reaching p", () => {
    // p(6) ~ 0.39, p(7) ~ 0.35, p(0) ~ 0.14: 0.6 needs the first two.
    expect(distinct(sampled({ topP: 0.6 }))).toEqual(new Set([6, 7]));
    expect(distinct(sampled({ topP: 0.01 }))).toEqual(new Set([6]));
  });

  it("min-p drops tokens below a share of the best one", () => {
    // e^(2 - 3) = 0.37 of the best: kept at min-p 0.3, dropped at 0.4.
    expect(distinct(sampled({ minP: 0.3 }))).toEqual(new Set([6, 7, 0]));
    expect(distinct(sampled({ minP: 0.4 }))).toEqual(new Set([6, 7]));
  });

  it("repetition penalty steers greedy away from tokens already seen", () => {
    const penalized = new Sampler({ ...GREEDY, repetitionPenalty: 1.2 });
    expect(penalized.sample(logits, [6])).toBe(7); // 3.0 / 1.2 = 2.5 < 2.9
    const strong = new Sampler({ ...GREEDY, repetitionPenalty: 2 });
    expect(strong.sample(logits, [6, 7])).toBe(0); // 1.5 and 1.45 fall below 2.0
  });

  it("repetition penalty makes negative logits of seen tokens more negative", () => {
    const negative = Float32Array.from([-1.0, -1.1]);
    expect(new Sampler({ ...GREEDY, repetitionPenalty: 1.2 }).sample(negative, [0])).toBe(1);
  });

  it("rejects settings out of range with a message naming the setting", () => {
    expect(() => new Sampler({ ...GREEDY, topP: 0 })).toThrow(/top-p/);
    expect(() => new Sampler({ ...GREEDY, temperature: -1 })).toThrow(/temperature/);
    expect(() => new Sampler({ ...GREEDY, repetitionPenalty: 0.5 })).toThrow(/repetition penalty/);
  });

  it("the seeded generator is uniform enough", () => {
    const random = seededRandom(1);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10000; i++) buckets[Math.floor(random() * 10)]++;
    for (const b of buckets) expect(Math.abs(b - 1000)).toBeLessThan(150);
  });

  it("draws exactly what a full sort of a 32,000-token vocabulary would, for every filter", () => {
    // The sampler sorts only the candidates that can matter; this reference sorts them all.
    const reference = (scores: Float32Array, o: SamplingOptions) => {
      let best = Number.NEGATIVE_INFINITY;
      for (const x of scores) best = Math.max(best, x);
      let ids = Array.from(scores.keys()).filter((i) => scores[i] >= best - 30 * o.temperature);
      ids.sort((x, y) => scores[y] - scores[x] || x - y);
      if (o.topK > 0) ids = ids.slice(0, o.topK);
      const probs = ids.map((i) => Math.exp((scores[i] - best) / o.temperature));
      let total = probs.reduce((a, b) => a + b, 0);
      let keep = ids.length;
      let mass = 0;
      for (let i = 0; o.topP < 1 && i < ids.length; i++) {
        mass += probs[i] / total;
        if (mass >= o.topP) {
          keep = i + 1;
          break;
        }
      }
      if (o.minP > 0) {
        let n = 0;
        while (n < keep && probs[n] >= o.minP * probs[0]) n++;
        keep = Math.max(1, n);
      }
      total = probs.slice(0, keep).reduce((a, b) => a + b, 0);
      return (r: number) => {
        let left = r * total;
        for (let i = 0; i < keep; i++) {
          left -= probs[i];
          if (left < 0) return ids[i];
        }
        return ids[keep - 1];
      };
    };
    const random = seededRandom(3);
    const vocab = Float32Array.from({ length: 32_000 }, () => (random() - 0.5) * 12);
    vocab[17] = vocab[18]; // a tie
    const settings: Partial<SamplingOptions>[] = [
      { temperature: 0.7, topK: 40, topP: 0.9 },
      { temperature: 1, topP: 0.5 },
      { temperature: 0.3, topP: 0.95 },
      { temperature: 1.2, topK: 5 },
      { temperature: 0.8, minP: 0.05 },
      { temperature: 1 },
    ];
    for (const setting of settings) {
      const options = { ...GREEDY, seed: 9, ...setting };
      const sampler = new Sampler(options);
      const draws = seededRandom(9);
      const draw = reference(vocab, options);
      for (let n = 0; n < 30; n++) {
        expect(sampler.sample(vocab), JSON.stringify(setting)).toBe(draw(draws()));
      }
    }
  });
});
