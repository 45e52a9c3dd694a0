/**
 * The CPU graph (standard attention, graph.ts) for a model converted before model-cpu-2.onnx existed,
 * built in memory from its model.onnx, so such models get the CPU's faster attention without being
 * converted again or written to. The weights are model.onnx's own initializers, reused as they are
 * (external ones keep pointing into model.onnx.data); only the graph around them is new.
 *
 * Graphs from before left attention's 1/sqrt(head dim) to GroupQueryAttention's default scale; the
 * CPU graph expects it folded into q_norm's weight, so those small inline vectors are scaled here.
 */
import onnxProto from "onnx-proto";
import type { DataTypeValue, InitializerSpec } from "../onnx/graph-builder.ts";
import type { OpenElmConfig } from "./config.ts";
import {
  type BlockSize,
  buildOpenElmGraph,
  initializerNames,
  type Precision,
  type WeightJob,
} from "./graph.ts";

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;

export function cpuGraphFromGrouped(
  grouped: Uint8Array,
  config: OpenElmConfig,
  precision: Precision,
  blockSize?: BlockSize,
): Uint8Array {
  const model = onnx.ModelProto.decode(grouped);
  const graph = model.graph;
  if (!graph) throw new Error("model.onnx has no graph");
  const byName = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  // A GroupQueryAttention with scale 1 means q_norm already carries the scale (graphs from now on).
  const alreadyScaled = (graph.node ?? []).some(
    (n) =>
      n.opType === "GroupQueryAttention" && (n.attribute ?? []).some((a) => a.name === "scale" && a.f === 1),
  );
  // Its int8 weights are MatMulNBits' only: the int8 GEMM's layout was not written then.
  const { builder, weights } = buildOpenElmGraph(config, precision, blockSize, "standard", {
    int8Gemm: false,
  });
  for (const job of weights) {
    const names = initializerNames(job);
    const data = byName.get(names.data);
    if (!data) throw new Error(`model.onnx has no initializer ${names.data}`);
    builder.initializer(specOf(data, alreadyScaled ? undefined : vectorScale(job)));
    for (const name of [names.scales, names.gatherScales]) {
      const extra = byName.get(name);
      if (extra) builder.initializer(specOf(extra));
    }
  }
  return builder.encode({ "elmwood.precision": precision });
}

function vectorScale(job: WeightJob): number | undefined {
  return job.kind === "vector" ? job.scale : undefined;
}

/** An initializer as the graph builder takes it; `scale` multiplies an inline float vector. */
function specOf(t: TensorProto, scale?: number): InitializerSpec {
  const spec: InitializerSpec = {
    name: t.name ?? "",
    dataType: (t.dataType ?? 0) as DataTypeValue,
    dims: (t.dims ?? []).map(Number),
  };
  if (t.externalData?.length) {
    const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value ?? "";
    spec.external = {
      location: entry("location"),
      offset: Number(entry("offset")),
      length: Number(entry("length")),
    };
    return spec;
  }
  const raw = t.rawData ?? new Uint8Array();
  if (scale === undefined) {
    spec.raw = raw;
    return spec;
  }
  const floats = new Float32Array(raw.byteLength / 4);
  new Uint8Array(floats.buffer).set(raw);
  spec.raw = new Uint8Array(floats.map((x) => x * scale).buffer);
  return spec;
}
