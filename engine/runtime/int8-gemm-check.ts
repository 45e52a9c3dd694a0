/**
 * Whether onnxruntime's int8 GEMM (DynamicQuantizeMatMul, which int8 models run on the CPU for their
 * normed-input layers) computes exactly on this CPU. On x64 CPUs without VNNI (AMD Zen 3 and older;
 * Intel before Cascade Lake on servers and Ice Lake on laptops) MLAS multiplies the unsigned
 * activations by the signed weights with an instruction that adds each pair of products into 16 bits
 * and saturates, so full-range 8-bit weights give wrong sums (measured on a Zen 3: the 270M shape's
 * logits at cosine 0.47 against the reference, 0.9973 with MatMulNBits alone on the same CPU).
 * onnxruntime's own quantizer offers 7-bit weights for such CPUs; Elmwood instead checks once per
 * process with a product that saturates there, and where it does the model runs MatMulNBits for those
 * layers, whose weights the folder also holds (model-session.ts).
 */
import { DataType, GraphBuilder } from "../onnx/graph-builder.ts";
import { int8GemmMatMul, type Precision } from "../openelm/graph.ts";
import { NativeSession } from "./ort/native-session.ts";

/** Pairs of full-range products: 32 pairs of 255 x 127 overflow 16 bits where the kernel saturates. */
const K = 64;

let exact: boolean | undefined;

/**
 * Whether a model of this precision runs its folder's CPU graph file here: an int8 one's reads the
 * int8 GEMM's layout, so where that GEMM saturates its CPU graph is built from model.onnx instead.
 */
export function cpuGraphFileRunsHere(precision: Precision): boolean {
  return precision !== "int8" || int8GemmIsExact();
}

export function int8GemmIsExact(): boolean {
  if (exact === undefined) {
    try {
      exact = measure();
    } catch {
      exact = false; // a check that cannot run leaves int8 on MatMulNBits, which is right everywhere
    }
  }
  return exact;
}

function measure(): boolean {
  const g = new GraphBuilder("int8-gemm-check", 21);
  const x = g.input({ name: "x", dataType: DataType.FLOAT, shape: [1, K] });
  const y = g.output({ name: "y", dataType: DataType.FLOAT, shape: [1, 1] });
  // x = 1 everywhere quantizes to 255 (zero point 0); w = 127 with scale 1/127 is 1: the sum is K.
  g.initializer({ name: "w", dataType: DataType.INT8, dims: [K, 1], raw: new Uint8Array(K).fill(127) });
  g.initializer({
    name: "w_scale",
    dataType: DataType.FLOAT,
    dims: [1],
    raw: new Uint8Array(new Float32Array([1 / 127]).buffer),
  });
  int8GemmMatMul(g, "/check", x, { gemm: "w", gemmScales: "w_scale" }, y);
  const session = NativeSession.create(
    { bytes: g.encode(), externalDataFolder: "." },
    { provider: "cpu", threads: 1 },
  );
  try {
    const input = session.hostTensor("float32", [1, K]);
    const output = session.hostTensor("float32", [1, 1]);
    input.write(new Float32Array(K).fill(1));
    session.bindInput("x", input);
    session.bindOutput("y", output);
    session.run();
    const result = new Float32Array(1);
    output.readInto(result);
    return Math.abs(result[0] - K) < 0.5; // saturated, it comes to about half
  } finally {
    session.release();
  }
}
