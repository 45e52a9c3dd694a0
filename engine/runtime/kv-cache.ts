/**
 * The KV cache: one key and one value tensor per layer, each covering the whole context window,
 * allocated once by onnxruntime in the memory the session reads them from (host memory on the CPU,
 * device memory on a GPU provider) and bound as both the past input and the present output of every
 * run. GroupQueryAttention sees the same buffer on both sides and writes each new row in place; it
 * reads rows up to seqlens_k only, so rows past the valid length are never looked at and rewinding
 * is just lowering that length. Nothing is copied between steps, whatever the context length, and
 * JavaScript never holds these tensors' memory.
 *
 * (Through onnxruntime-node's binding every present output was copied into a new JavaScript buffer
 * after each run, so the cost of a token grew with the window handed to onnxruntime: 66 MB a token at
 * 2,048 positions on the 270M shape.)
 */
import type { OpenElmConfig } from "../openelm/config.ts";
import type { NativeSession, NativeTensor } from "./ort/native-session.ts";

/** The graph's names for layer i's cache inputs and outputs (engine/openelm/graph.ts). */
export function kvNames(i: number) {
  return {
    pastKey: `past_key_values.${i}.key`,
    pastValue: `past_key_values.${i}.value`,
    presentKey: `present.${i}.key`,
    presentValue: `present.${i}.value`,
  };
}

export class KvCache {
  private readonly layers: { key: NativeTensor; value: NativeTensor }[];

  constructor(session: NativeSession, config: OpenElmConfig) {
    const window = config.maxContextLength;
    this.layers = config.layers.map(({ kvHeads }, i) => {
      const names = kvNames(i);
      const shape = [1, kvHeads, window, config.headDim];
      const key = session.inputTensor(names.pastKey, "float32", shape);
      const value = session.inputTensor(names.pastValue, "float32", shape);
      session.bindInput(names.pastKey, key);
      session.bindOutput(names.presentKey, key);
      session.bindInput(names.pastValue, value);
      session.bindOutput(names.presentValue, value);
      return { key, value };
    });
  }

  /** Gives the tensors back (a later binding of the same names drops the session's references). */
  release(session: NativeSession): void {
    for (const layer of this.layers) {
      session.releaseTensor(layer.key);
      session.releaseTensor(layer.value);
    }
  }

  /** Bytes the cache's tensors take (allocated up front; host pages become resident as rows fill). */
  get bytes(): number {
    return this.layers.reduce((sum, l) => sum + l.key.bytes + l.value.bytes, 0);
  }
}
