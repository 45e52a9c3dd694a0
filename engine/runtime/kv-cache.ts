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
 *  - standard (the CPU): [1, window, kv heads x head dim] per layer, so the first L rows are one
 *    contiguous run of memory; what is bound is a view of the first L rows, L the valid length
 *    rounded up to a multiple of VIEW_STEP, rebound only when L changes. Attention's work follows L,
 *    not the window. Its mask gives rows past the valid length no weight, but a weight of 0 times a
 *    NaN is NaN, so rows are zeroed the first time a view covers them (onnxruntime's memory comes
 *    uninitialized; zeroing lazily keeps untouched pages out of resident memory).
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
  /** Rows [0, zeroedRows) have been written or zeroed at least once. */
  private zeroedRows = 0;

  constructor(
    private readonly session: NativeSession,
    private readonly config: OpenElmConfig,
    readonly kind: AttentionKind,
  ) {
    const window = config.maxContextLength;
    this.layers = config.layers.map(({ kvHeads }, i) => {
      const names = kvNames(i);
      const shape =
        kind === "standard" ? [1, window, kvHeads * config.headDim] : [1, kvHeads, window, config.headDim];
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
    if (rows > this.zeroedRows) {
      this.layers.forEach((layer, i) => {
        const rowBytes = this.config.layers[i].kvHeads * this.config.headDim * 4;
        layer.key.zero(this.zeroedRows * rowBytes, rows * rowBytes);
        layer.value.zero(this.zeroedRows * rowBytes, rows * rowBytes);
      });
      this.zeroedRows = rows;
    }
    const previous = this.views;
    this.views = this.layers.map((layer, i) => {
      const shape = [1, rows, this.config.layers[i].kvHeads * this.config.headDim];
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
