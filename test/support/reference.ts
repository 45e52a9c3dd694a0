/**
 * An independent OpenELM forward pass in float64, written from the equations in
 * /work/shared/OPENELM.md and sharing no code with the engine's graph. The engine's outputs are
 * checked against it, so it stays plain: one function per block, full causal recomputation, no cache.
 * Used by tests and the benchmark, so it imports no test framework.
 */
import { openCheckpoint } from "../../engine/openelm/checkpoint.ts";
import type { OpenElmConfig } from "../../engine/openelm/config.ts";

export type WeightSource = (name: string) => Float64Array | Promise<Float64Array>;

interface LayerWeights {
  attnNorm: Float64Array;
  qkv: Float64Array; // [(q + 2 kv) * h, d]
  qNorm: Float64Array; // [h]
  kNorm: Float64Array; // [h]
  out: Float64Array; // [d, q * h]
  ffnNorm: Float64Array;
  proj1: Float64Array; // [2 f, d]: gate rows, then up rows
  proj2: Float64Array; // [d, f]
}

/** Tensor names and element counts, derived here rather than taken from the engine. */
function weightNames(config: OpenElmConfig): [string, number][] {
  const d = config.modelDim;
  const h = config.headDim;
  const names: [string, number][] = [["transformer.token_embeddings.weight", config.vocabSize * d]];
  config.layers.forEach(({ queryHeads: q, kvHeads: kv, ffnDim: f }, i) => {
    const p = `transformer.layers.${i}.`;
    names.push(
      [`${p}attn_norm.weight`, d],
      [`${p}attn.qkv_proj.weight`, (q + 2 * kv) * h * d],
      [`${p}attn.q_norm.weight`, h],
      [`${p}attn.k_norm.weight`, h],
      [`${p}attn.out_proj.weight`, d * q * h],
      [`${p}ffn_norm.weight`, d],
      [`${p}ffn.proj_1.weight`, 2 * f * d],
      [`${p}ffn.proj_2.weight`, d * f],
    );
  });
  names.push(["transformer.norm.weight", d]);
  return names;
}

/** y[t, o] = sum_i x[t, i] * w[o, i]: each weight row is read once while the few token rows stay in cache. */
function linear(x: Float64Array, rows: number, w: Float64Array, inDim: number, outDim: number): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let o = 0; o < outDim; o++) {
    const wo = o * inDim;
    for (let t = 0; t < rows; t++) {
      const xt = t * inDim;
      let sum = 0;
      for (let i = 0; i < inDim; i++) sum += x[xt + i] * w[wo + i];
      y[t * outDim + o] = sum;
    }
  }
  return y;
}

/** RMSNorm over consecutive groups of `size` values, in place or into out. */
function rmsNorm(
  x: Float64Array,
  size: number,
  weight: Float64Array,
  eps: number,
  out: Float64Array = new Float64Array(x.length),
): Float64Array {
  for (let start = 0; start < x.length; start += size) {
    let squares = 0;
    for (let i = 0; i < size; i++) squares += x[start + i] * x[start + i];
    const scale = 1 / Math.sqrt(squares / size + eps);
    for (let i = 0; i < size; i++) out[start + i] = x[start + i] * scale * weight[i];
  }
  return out;
}

/** Rotate-half RoPE of one head vector at `position`, in place. */
function rotate(v: Float64Array, start: number, headDim: number, position: number, base: number): void {
  const half = headDim / 2;
  for (let j = 0; j < half; j++) {
    const angle = position / base ** ((2 * j) / headDim);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const x1 = v[start + j];
    const x2 = v[start + half + j];
    v[start + j] = x1 * cos - x2 * sin;
    v[start + half + j] = x2 * cos + x1 * sin;
  }
}

const silu = (x: number): number => x / (1 + Math.exp(-x));

export class ReferenceModel {
  private readonly embedding: Float64Array; // [vocab, d]
  private readonly layers: LayerWeights[];
  private readonly finalNorm: Float64Array;

  private constructor(
    readonly config: OpenElmConfig,
    weights: Map<string, Float64Array>,
  ) {
    for (const [name, size] of weightNames(config)) {
      const w = weights.get(name);
      if (!w) throw new Error(`reference model: missing weight ${name}`);
      if (w.length !== size)
        throw new Error(`reference model: ${name} has ${w.length} values, expected ${size}`);
    }
    const get = (name: string) => weights.get(name) as Float64Array;
    this.embedding = get("transformer.token_embeddings.weight");
    this.finalNorm = get("transformer.norm.weight");
    this.layers = config.layers.map((_, i) => {
      const p = `transformer.layers.${i}.`;
      return {
        attnNorm: get(`${p}attn_norm.weight`),
        qkv: get(`${p}attn.qkv_proj.weight`),
        qNorm: get(`${p}attn.q_norm.weight`),
        kNorm: get(`${p}attn.k_norm.weight`),
        out: get(`${p}attn.out_proj.weight`),
        ffnNorm: get(`${p}ffn_norm.weight`),
        proj1: get(`${p}ffn.proj_1.weight`),
        proj2: get(`${p}ffn.proj_2.weight`),
      };
    });
  }

  /** Reads every weight of a checkpoint folder into float64. */
  static async load(checkpointDir: string): Promise<ReferenceModel> {
    const checkpoint = await openCheckpoint(checkpointDir);
    try {
      const weights = new Map<string, Float64Array>();
      for (const name of checkpoint.tensors.keys())
        weights.set(name, Float64Array.from(await checkpoint.readTensor(name)));
      return new ReferenceModel(checkpoint.config, weights);
    } finally {
      await checkpoint.close();
    }
  }

  /** A model over given weights (e.g. dequantized ones), named as in the checkpoint. */
  static fromWeights(config: OpenElmConfig, weights: Map<string, Float64Array>): ReferenceModel {
    return new ReferenceModel(config, weights);
  }

  /** A model whose weights come from a function, called once per tensor name. */
  static async fromSource(config: OpenElmConfig, source: WeightSource): Promise<ReferenceModel> {
    const weights = new Map<string, Float64Array>();
    for (const [name] of weightNames(config)) weights.set(name, await source(name));
    return new ReferenceModel(config, weights);
  }

  /** Logits for every position. */
  forward(tokens: readonly number[]): Float64Array[] {
    const hidden = this.hidden(tokens);
    const logits = this.logits(hidden, tokens.length);
    const { vocabSize } = this.config;
    return tokens.map((_, t) => logits.slice(t * vocabSize, (t + 1) * vocabSize));
  }

  /** Greedy decoding; margin is the top-1 minus top-2 logit at each step. */
  greedy(prompt: readonly number[], steps: number): { tokens: number[]; margins: number[] } {
    const sequence = [...prompt];
    const tokens: number[] = [];
    const margins: number[] = [];
    for (let step = 0; step < steps; step++) {
      const hidden = this.hidden(sequence);
      const d = this.config.modelDim;
      const last = hidden.subarray((sequence.length - 1) * d, sequence.length * d);
      const logits = this.logits(last, 1);
      let best = 0;
      let second = -1;
      for (let v = 1; v < logits.length; v++) {
        if (logits[v] > logits[best]) {
          second = best;
          best = v;
        } else if (second < 0 || logits[v] > logits[second]) {
          second = v;
        }
      }
      tokens.push(best);
      margins.push(logits[best] - logits[second]);
      sequence.push(best);
    }
    return { tokens, margins };
  }

  /** The final normalized hidden state of every position: [T, d]. */
  hidden(tokens: readonly number[]): Float64Array {
    const { modelDim: d, vocabSize } = this.config;
    if (tokens.length === 0) throw new Error("reference model: no tokens");
    const x = new Float64Array(tokens.length * d); // [T, d]
    tokens.forEach((token, t) => {
      if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
        throw new Error(`reference model: token ${token} outside the vocabulary of ${vocabSize}`);
      }
      x.set(this.embedding.subarray(token * d, (token + 1) * d), t * d);
    });
    for (const layer of this.layers.keys()) {
      this.addInPlace(x, this.attention(layer, x, tokens.length));
      this.addInPlace(x, this.feedForward(layer, x, tokens.length));
    }
    return rmsNorm(x, d, this.finalNorm, this.config.normEps);
  }

  private addInPlace(x: Float64Array, y: Float64Array): void {
    for (let i = 0; i < x.length; i++) x[i] += y[i];
  }

  /** out_proj(attention(rms(x))) for every position: [T, d]. */
  private attention(index: number, x: Float64Array, T: number): Float64Array {
    const { modelDim: d, headDim: h, normEps, ropeFreqConstant } = this.config;
    const { queryHeads: q, kvHeads: kv } = this.config.layers[index];
    const w = this.layers[index];
    const width = (q + 2 * kv) * h;
    const qkv = linear(rmsNorm(x, d, w.attnNorm, normEps), T, w.qkv, d, width); // [T, (q + 2kv) * h]

    // Per-head RMSNorm of queries and keys, then rotary at each position.
    for (let t = 0; t < T; t++) {
      const row = t * width;
      for (let head = 0; head < q + kv; head++) {
        const start = row + head * h;
        const norm = head < q ? w.qNorm : w.kNorm;
        rmsNorm(qkv.subarray(start, start + h), h, norm, normEps, qkv.subarray(start, start + h));
        rotate(qkv, start, h, t, ropeFreqConstant);
      }
    }

    const group = q / kv;
    const scale = 1 / Math.sqrt(h);
    const heads = new Float64Array(T * q * h); // [T, q * h]
    const weights = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < q; j++) {
        const kvHead = Math.floor(j / group);
        const query = t * width + j * h;
        let max = Number.NEGATIVE_INFINITY;
        for (let s = 0; s <= t; s++) {
          const key = s * width + (q + kvHead) * h;
          let dot = 0;
          for (let i = 0; i < h; i++) dot += qkv[query + i] * qkv[key + i];
          weights[s] = dot * scale;
          if (weights[s] > max) max = weights[s];
        }
        let total = 0;
        for (let s = 0; s <= t; s++) {
          weights[s] = Math.exp(weights[s] - max);
          total += weights[s];
        }
        const out = t * q * h + j * h;
        for (let s = 0; s <= t; s++) {
          const value = s * width + (q + kv + kvHead) * h;
          const p = weights[s] / total;
          for (let i = 0; i < h; i++) heads[out + i] += p * qkv[value + i];
        }
      }
    }
    return linear(heads, T, w.out, q * h, d);
  }

  /** proj_2(silu(gate) * up) with [gate, up] = proj_1(rms(x)): [T, d]. */
  private feedForward(index: number, x: Float64Array, T: number): Float64Array {
    const { modelDim: d, normEps } = this.config;
    const f = this.config.layers[index].ffnDim;
    const w = this.layers[index];
    const gateUp = linear(rmsNorm(x, d, w.ffnNorm, normEps), T, w.proj1, d, 2 * f); // [T, 2f]
    const act = new Float64Array(T * f); // [T, f]
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < f; i++) act[t * f + i] = silu(gateUp[t * 2 * f + i]) * gateUp[t * 2 * f + f + i];
    }
    return linear(act, T, w.proj2, f, d);
  }

  /** hidden @ embedding^T: [T, vocab]. */
  private logits(hidden: Float64Array, T: number): Float64Array {
    return linear(hidden, T, this.embedding, this.config.modelDim, this.config.vocabSize);
  }
}
