/**
 * An independent sentence embedding for the random BERT of random-bert.ts, sharing no code with the
 * engine: BERT's basic tokenizer and greedy WordPiece written from the original BERT repository's
 * tokenization.py, a float64 encoder written from the equations, then mean (or CLS) pooling and L2
 * normalization as sentence-transformers does them. Plain loops, one function per step.
 */
import {
  bertShape,
  bertVocabulary,
  LAYER_NORM_EPS,
  type RandomBertOptions,
  randomBertWeights,
} from "./random-bert.ts";

// ---- tokenization ------------------------------------------------------------------------------

function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return /\p{P}/u.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === "\t" || ch === "\n" || ch === "\r") return false;
  return /\p{Cc}|\p{Cf}/u.test(ch);
}

function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0xf900 && cp <= 0xfaff)
  );
}

/** BERT's BasicTokenizer with do_lower_case: clean, space out CJK, lower-case, strip accents, split. */
export function basicTokens(text: string): string[] {
  let cleaned = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (/\s/u.test(ch)) cleaned += " ";
    else if (isChinese(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  const tokens: string[] = [];
  for (const word of cleaned.split(" ").filter(Boolean)) {
    const plain = word
      .toLowerCase()
      .normalize("NFD")
      .replace(/\p{Mn}/gu, "");
    let current = "";
    for (const ch of plain) {
      if (isPunctuation(ch)) {
        if (current) tokens.push(current);
        tokens.push(ch);
        current = "";
      } else current += ch;
    }
    if (current) tokens.push(current);
  }
  return tokens;
}

/** Greedy longest-match-first WordPiece; a word with no match at some point becomes [UNK]. */
export function wordPiece(word: string, vocab: Map<string, number>): string[] {
  const chars = [...word];
  if (chars.length > 100) return ["[UNK]"];
  const pieces: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    let found: string | undefined;
    while (start < end) {
      const piece = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
      if (vocab.has(piece)) {
        found = piece;
        break;
      }
      end--;
    }
    if (!found) return ["[UNK]"];
    pieces.push(found);
    start = end;
  }
  return pieces;
}

/** [CLS] pieces [SEP], cut to `maxLength` ids in all (the pieces are cut, the markers kept). */
export function referenceIds(text: string, options: RandomBertOptions, maxLength: number): number[] {
  const list = bertVocabulary(options);
  const vocab = new Map(list.map((t, i) => [t, i]));
  const pieces = basicTokens(text).flatMap((word) => wordPiece(word, vocab));
  const ids = pieces.map((p) => vocab.get(p) as number).slice(0, maxLength - 2);
  return [vocab.get("[CLS]") as number, ...ids, vocab.get("[SEP]") as number];
}

// ---- the encoder -------------------------------------------------------------------------------

function layerNorm(x: Float64Array, d: number, gamma: Float32Array, beta: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let t = 0; t < x.length / d; t++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[t * d + i];
    mean /= d;
    let variance = 0;
    for (let i = 0; i < d; i++) variance += (x[t * d + i] - mean) ** 2;
    variance /= d;
    const scale = 1 / Math.sqrt(variance + LAYER_NORM_EPS);
    for (let i = 0; i < d; i++) out[t * d + i] = (x[t * d + i] - mean) * scale * gamma[i] + beta[i];
  }
  return out;
}

/** y = x W + b with W stored [in, out]. */
function dense(
  x: Float64Array,
  rows: number,
  w: Float32Array,
  b: Float32Array,
  inDim: number,
  outDim: number,
) {
  const y = new Float64Array(rows * outDim);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < outDim; o++) {
      let sum = b[o];
      for (let i = 0; i < inDim; i++) sum += x[t * inDim + i] * w[i * outDim + o];
      y[t * outDim + o] = sum;
    }
  }
  return y;
}

/** erf by Abramowitz-Stegun 7.1.26 is too coarse for 1e-5 checks; this series/continued fraction is not. */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  if (a < 3) {
    // Maclaurin series: erf(a) = 2/sqrt(pi) * sum (-1)^n a^(2n+1) / (n! (2n+1))
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return sign * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // erfc continued fraction for large arguments.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  return sign * (1 - erfc);
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** The last hidden state of one sequence (no padding): [tokens, hidden]. */
export function referenceHidden(ids: number[], options: RandomBertOptions): Float64Array {
  const shape = bertShape(options);
  const weights = randomBertWeights(options);
  const get = (name: string) => weights.get(name) as Float32Array;
  const { hidden: d, heads, intermediate: f } = shape;
  const dh = d / heads;
  const n = ids.length;
  let x: Float64Array = new Float64Array(n * d);
  const word = get("embeddings.word_embeddings.weight");
  const position = get("embeddings.position_embeddings.weight");
  const type = get("embeddings.token_type_embeddings.weight");
  for (let t = 0; t < n; t++)
    for (let i = 0; i < d; i++) x[t * d + i] = word[ids[t] * d + i] + position[t * d + i] + type[i];
  x = layerNorm(x, d, get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"));
  for (let layer = 0; layer < shape.layers; layer++) {
    const p = `encoder.layer.${layer}.`;
    const proj = (name: string) =>
      dense(x, n, get(`${p}attention.self.${name}.weight`), get(`${p}attention.self.${name}.bias`), d, d);
    const q = proj("query");
    const k = proj("key");
    const v = proj("value");
    const context = new Float64Array(n * d);
    for (let head = 0; head < heads; head++) {
      for (let t = 0; t < n; t++) {
        const scores = new Float64Array(n);
        let max = Number.NEGATIVE_INFINITY;
        for (let s = 0; s < n; s++) {
          let dot = 0;
          for (let j = 0; j < dh; j++) dot += q[t * d + head * dh + j] * k[s * d + head * dh + j];
          scores[s] = dot / Math.sqrt(dh);
          max = Math.max(max, scores[s]);
        }
        let total = 0;
        for (let s = 0; s < n; s++) {
          scores[s] = Math.exp(scores[s] - max);
          total += scores[s];
        }
        for (let j = 0; j < dh; j++) {
          let sum = 0;
          for (let s = 0; s < n; s++) sum += (scores[s] / total) * v[s * d + head * dh + j];
          context[t * d + head * dh + j] = sum;
        }
      }
    }
    const attended = dense(
      context,
      n,
      get(`${p}attention.output.dense.weight`),
      get(`${p}attention.output.dense.bias`),
      d,
      d,
    );
    for (let i = 0; i < x.length; i++) attended[i] += x[i];
    x = layerNorm(
      attended,
      d,
      get(`${p}attention.output.LayerNorm.weight`),
      get(`${p}attention.output.LayerNorm.bias`),
    );
    const inner = dense(
      x,
      n,
      get(`${p}intermediate.dense.weight`),
      get(`${p}intermediate.dense.bias`),
      d,
      f,
    ).map(gelu);
    const out = dense(inner, n, get(`${p}output.dense.weight`), get(`${p}output.dense.bias`), f, d);
    for (let i = 0; i < x.length; i++) out[i] += x[i];
    x = layerNorm(out, d, get(`${p}output.LayerNorm.weight`), get(`${p}output.LayerNorm.bias`));
  }
  return x;
}

/** The sentence embedding sentence-transformers would compute: pooled, then L2-normalized when the model says so. */
export function referenceEmbedding(
  text: string,
  options: RandomBertOptions,
  maxLength = options.maxSeqLength ?? 256,
): Float64Array {
  const ids = referenceIds(text, options, maxLength);
  const hidden = referenceHidden(ids, options);
  const d = options.hidden;
  const pooled = new Float64Array(d);
  if ((options.pooling ?? "mean") === "cls") {
    for (let i = 0; i < d; i++) pooled[i] = hidden[i];
  } else {
    for (let t = 0; t < ids.length; t++)
      for (let i = 0; i < d; i++) pooled[i] += hidden[t * d + i] / ids.length;
  }
  if (options.normalize ?? true) {
    const norm = Math.sqrt(pooled.reduce((s, v) => s + v * v, 0));
    for (let i = 0; i < d; i++) pooled[i] /= Math.max(norm, 1e-12);
  }
  return pooled;
}
