/**
 * A deterministic stand-in for an embedding model, for testing ranking and fusion: each word maps to
 * a concept (words of one group share it, so "invoice" and "billing statement" are near), any other
 * word to a hashed dimension of its own; a text's vector is the normalized sum. Similarities are
 * therefore known in advance: texts sharing no concept have similarity 0.
 */
import type { Embedder } from "../../engine/documents/embedding/embedder.ts";
import { cancelled } from "../../engine/errors.ts";

export const CONCEPTS: Record<string, string[]> = {
  money: [
    "invoice",
    "invoices",
    "billing",
    "bill",
    "bills",
    "statement",
    "receipt",
    "payment",
    "paid",
    "owe",
    "due",
  ],
  plants: [
    "garden",
    "flower",
    "flowers",
    "rose",
    "roses",
    "bloom",
    "blooms",
    "plant",
    "plants",
    "tulip",
    "tulips",
  ],
  travel: ["train", "trains", "station", "ticket", "tickets", "railway", "journey", "travel"],
  cooking: ["recipe", "recipes", "bread", "dough", "bake", "baking", "oven", "flour"],
  vehicles: ["car", "cars", "engine", "motor", "wheel", "wheels", "tyre", "tyres"],
};

const STOP = new Set("a an the of to and in is it on for with as at by this that be are was".split(" "));

export interface ConceptEmbedderOptions {
  /** Hashed dimensions for words outside the concepts (default 64). */
  hashed?: number;
  /** Waits this long per batch, to make a batch slow enough to interrupt (ms). */
  delayMs?: number;
  modelId?: string;
}

export function conceptVector(text: string, hashed = 64): Float32Array {
  const names = Object.keys(CONCEPTS);
  const v = new Float32Array(names.length + hashed);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOP.has(word)) continue;
    const concept = names.findIndex((n) => CONCEPTS[n].includes(word));
    if (concept >= 0) v[concept] += 1;
    else {
      let h = 0x811c9dc5;
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
      v[names.length + ((h >>> 0) % hashed)] += 0.5;
    }
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return v.map((x) => x / norm);
}

export class ConceptEmbedder implements Embedder {
  readonly dims: number;
  readonly modelId: string;
  /** Every batch embedded, for tests that count the work. */
  readonly batches: string[][] = [];
  closed = false;

  constructor(private readonly options: ConceptEmbedderOptions = {}) {
    this.dims = Object.keys(CONCEPTS).length + (options.hashed ?? 64);
    this.modelId = options.modelId ?? "test/concepts@1";
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    this.batches.push([...texts]);
    if (this.options.delayMs) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.options.delayMs);
        signal?.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            reject(cancelled("Embedding"));
          },
          { once: true },
        );
      });
    }
    if (signal?.aborted) throw cancelled("Embedding");
    return texts.map((t) => conceptVector(t, this.options.hashed ?? 64));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
