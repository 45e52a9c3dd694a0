/**
 * The KV cache: one key and one value buffer per layer, each big enough for the whole context window
 * and allocated once per session.
 *
 * GroupQueryAttention updates a cache in place when the same tensor is passed as its past input and
 * its present output. onnxruntime-node, however, copies every output back into a fresh JavaScript
 * buffer after each run, so handing it the full 2048-position buffer would copy the whole cache on
 * every decoded token (66 MB for the 270M model). So the tensors given to a run cover only a
 * `capacity` that grows in steps of 64 positions inside the same buffers: the per-token copy follows
 * the context actually in use (measured once by hand on the 270M shape: 65 tok/s at capacity 512, 46 at 1024, 32
 * at 2048). Growing re-lays the used rows in place ([kvHeads, capacity, headDim] per layer), which
 * costs about one such copy every 64 tokens.
 */
import * as ort from "onnxruntime-node";
import type { OpenElmConfig } from "../openelm/config.ts";

const CAPACITY_STEP = 64;

interface LayerBuffers {
  kvHeads: number;
  key: Float32Array;
  value: Float32Array;
}

export class KvCache {
  private readonly layers: LayerBuffers[];
  private capacity = 0;
  private tensors: { key: ort.Tensor; value: ort.Tensor }[] = [];

  constructor(private readonly config: OpenElmConfig) {
    const window = config.maxContextLength;
    this.layers = config.layers.map(({ kvHeads }) => ({
      kvHeads,
      key: new Float32Array(kvHeads * window * config.headDim),
      value: new Float32Array(kvHeads * window * config.headDim),
    }));
  }

  /** Bytes held by the cache's buffers. */
  get bytes(): number {
    return this.layers.reduce((sum, l) => sum + l.key.byteLength + l.value.byteLength, 0);
  }

  get currentCapacity(): number {
    return this.capacity;
  }

  /**
   * The past/present tensors for a run that ends with `total` valid positions, of which `valid`
   * (those before the run) must be kept if the capacity grows.
   */
  tensorsFor(total: number, valid: number): readonly { key: ort.Tensor; value: ort.Tensor }[] {
    if (total > this.capacity) this.grow(total, valid);
    return this.tensors;
  }

  private grow(needed: number, valid: number): void {
    const window = this.config.maxContextLength;
    const next = Math.min(window, Math.ceil(needed / CAPACITY_STEP) * CAPACITY_STEP);
    const h = this.config.headDim;
    if (this.capacity > 0 && valid > 0) {
      // Move each head's rows to its new stride; the last head first, so nothing is overwritten.
      for (const layer of this.layers) {
        for (const buffer of [layer.key, layer.value]) {
          for (let head = layer.kvHeads - 1; head > 0; head--) {
            buffer.copyWithin(head * next * h, head * this.capacity * h, (head * this.capacity + valid) * h);
          }
        }
      }
    }
    this.capacity = next;
    this.tensors = this.layers.map((layer) => {
      const size = layer.kvHeads * next * h;
      const dims = [1, layer.kvHeads, next, h];
      return {
        key: new ort.Tensor("float32", layer.key.subarray(0, size), dims),
        value: new ort.Tensor("float32", layer.value.subarray(0, size), dims),
      };
    });
  }
}
