/**
 * The KV cache: one key and one value tensor per layer, each covering the whole context window,
 * allocated once by onnxruntime in the memory the session reads them from (host memory on the CPU,
 * device memory on a GPU provider) and bound as both the past input and the present output of every
 * run, so the graph writes each new row in place. Nothing is copied between steps, whatever the
 * context length, and JavaScript never holds these tensors' memory. Rewinding is just lowering the
 * valid length the runtime passes in: attention never looks at rows past it.
 *
 * Two layouts, one per attention form of the graph (engine/openelm/graph.ts):
 *  - grouped: [1, kv heads, window, head dim] per layer, bound once; GroupQueryAttention reads rows
 *    up to seqlens_k only.
 *  - standard (the CPU): a view [1, kv heads, L, head dim] over the start of each layer's tensor, L
 *    the valid length rounded up to a multiple of VIEW_STEP, rebound only when L changes, so
 *    attention's work follows L, not the window. Each head's L rows lie together, which is what
 *    onnxruntime's CPU Attention reads fastest (its q.K^T and p.V walk one head's rows; with the rows
 *    of all heads interleaved, [1, L, kv heads x head dim], a decode step's attention took 2-3x longer
 *    at 1,800 positions). So when L changes, the heads' rows move to their places in the new view
 *    (memmove in native memory, the whole cache once every VIEW_STEP tokens at most). Attention's
 *    mask gives rows past the valid length no weight, but a weight of 0 times a NaN is NaN, so the
 *    rows a view gains are zeroed (onnxruntime's memory comes uninitialized; only what views have
 *    covered is ever touched, which keeps the rest of the window out of resident memory).
 *
 * (Through onnxruntime-node's binding every present output was copied into a new JavaScript buffer
 * after each run, so the cost of a token grew with the window handed to onnxruntime: 66 MB a token at
 * 2,048 positions on the 270M shape.)
 */
import type { OpenElmConfig } from "../openelm/config.ts";
import type { AttentionKind } from "../openelm/graph.ts";
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

/**
 * Rows a standard cache view grows by. Small enough that attention over the padding costs little
 * (at most 63 rows beyond the valid length), large enough that rebinding 4 views per layer is rare.
 */
export const VIEW_STEP = 64;

interface Layer {
  key: NativeTensor;
  value: NativeTensor;
}

export class KvCache {
  private readonly layers: Layer[];
  private views: Layer[] = [];
  private viewRows = 0;

  constructor(
    private readonly session: NativeSession,
    private readonly config: OpenElmConfig,
    readonly kind: AttentionKind,
  ) {
    const window = config.maxContextLength;
    this.layers = config.layers.map(({ kvHeads }, i) => {
      const names = kvNames(i);
      const shape = [1, kvHeads, window, config.headDim];
      const key = session.inputTensor(names.pastKey, "float32", shape);
      const value = session.inputTensor(names.pastValue, "float32", shape);
      if (kind === "grouped") this.bind(i, { key, value });
      return { key, value };
    });
  }

  /** Makes the bound cache cover `length` valid rows (a no-op for the grouped layout). */
  prepare(length: number): void {
    if (this.kind === "grouped") return;
    const rows = Math.min(this.config.maxContextLength, Math.ceil(length / VIEW_STEP) * VIEW_STEP);
    if (rows === this.viewRows) return;
    const headBytes = this.config.headDim * 4; // one row of one head
    this.layers.forEach((layer, i) => {
      for (const tensor of [layer.key, layer.value]) {
        relayout(tensor, this.config.layers[i].kvHeads, this.viewRows * headBytes, rows * headBytes);
      }
    });
    const previous = this.views;
    this.views = this.layers.map((layer, i) => {
      const shape = [1, this.config.layers[i].kvHeads, rows, this.config.headDim];
      const view = {
        key: this.session.hostView(layer.key, shape),
        value: this.session.hostView(layer.value, shape),
      };
      this.bind(i, view);
      return view;
    });
    this.viewRows = rows;
    // The binding holds its own references to what it was given; ours to the old views can go.
    for (const view of previous) this.releaseLayer(view);
  }

  /** Gives the tensors back (a later binding of the same names drops the session's references). */
  release(): void {
    for (const layer of [...this.views, ...this.layers]) this.releaseLayer(layer);
    this.views = [];
    this.viewRows = 0;
  }

  private bind(i: number, { key, value }: Layer): void {
    const names = kvNames(i);
    this.session.bindInput(names.pastKey, key);
    this.session.bindOutput(names.presentKey, key);
    this.session.bindInput(names.pastValue, value);
    this.session.bindOutput(names.presentValue, value);
  }

  private releaseLayer(layer: Layer): void {
    this.session.releaseTensor(layer.key);
    this.session.releaseTensor(layer.value);
  }
}

/**
 * Moves a head-major cache from views of `from` bytes per head to views of `to` bytes per head:
 * head j's rows go from offset j x from to j x to, the rows they keep moving with them, and the rows
 * a head gains are zeroed. Growing moves the last head first and shrinking the first head first, so
 * no head is overwritten before it has moved.
 */
export function relayout(tensor: NativeTensor, heads: number, from: number, to: number): void {
  const kept = Math.min(from, to);
  const order = Array.from({ length: heads }, (_, j) => j);
  for (const j of to > from ? order.reverse() : order) {
    tensor.move(j * from, j * to, kept);
    if (to > from) tensor.zero(j * to + from, (j + 1) * to);
  }
}
