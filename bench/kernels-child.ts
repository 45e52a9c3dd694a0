/**
 * One weight format's matmul kernels, in a process of its own (two onnxruntime sessions in one
 * process would share its two cores between their thread pools): every linear layer of the model,
 * as independent nodes in one graph, run over one row (a decoded token) and over a prefill chunk's
 * rows. Weights and inputs are random: these kernels take as long whatever the values.
 *
 *   kernels-child.ts FORMAT THREADS CONFIG_JSON CHUNK_ROWS -> one JSON line (CONFIG_JSON: a checkpoint's config.json)
 */
import { randomFillSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { DataType, GraphBuilder } from "../engine/onnx/graph-builder.ts";
import { parseOpenElmConfig } from "../engine/openelm/config.ts";
import { defaultBlockSize, int8GemmMatMul, matMulNBits } from "../engine/openelm/graph.ts";
import { NativeSession, type NativeTensor } from "../engine/runtime/ort/native-session.ts";
import { KERNEL_FORMATS, type KernelFormat, linearShapes } from "./kernels.ts";

const [formatArg, threadsArg, configFile, chunkArg] = process.argv.slice(2);
const format = formatArg as KernelFormat;
if (!KERNEL_FORMATS.includes(format)) throw new Error(`unknown format ${formatArg}`);
const config = parseOpenElmConfig(JSON.parse(await readFile(configFile, "utf8")), configFile);
const shapes = linearShapes(config);
const chunkRows = Number(chunkArg);

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const randomBytes = (n: number) => randomFillSync(new Uint8Array(n));
/** Small positive scales: the products stay finite, as real ones do. */
const scales = (n: number) => bytes(Float32Array.from({ length: n }, () => 1e-3 * (1 + Math.random())));

const g = new GraphBuilder("kernels", 21);
let weightBytes = 0;
const inputs = new Map<number, string>(); // one input per K, shared by the layers that read it
shapes.forEach(({ name, k, n }, i) => {
  let x = inputs.get(k);
  if (!x) {
    x = g.input({ name: `x_${k}`, dataType: DataType.FLOAT, shape: ["rows", k] });
    inputs.set(k, x);
  }
  const y = g.output({ name: `y_${i}`, dataType: DataType.FLOAT, shape: ["rows", n] });
  const names = { data: `${name}.w`, scales: `${name}.s`, gemm: `${name}.w`, gemmScales: `${name}.s` };
  if (format === "int8-gemm") {
    // onnxruntime's int8 GEMM (MLAS QGEMM, which uses AMX where the CPU has it): int8 weights [K, N]
    // with one scale per output column, activations quantized to 8 bits per run; the node the CPU
    // graph uses for int8.
    weightBytes += k * n + 4 * n;
    g.initializer({ name: names.gemm, dataType: DataType.INT8, dims: [k, n], raw: randomBytes(k * n) });
    g.initializer({ name: names.gemmScales, dataType: DataType.FLOAT, dims: [n], raw: scales(n) });
    int8GemmMatMul(g, name, x, names, y);
    return;
  }
  // The converted models' MatMulNBits node, at each precision's default block size.
  const bits = format === "int4" ? 4 : 8;
  const block = defaultBlockSize(format);
  const blocks = Math.ceil(k / block);
  const dataBytes = (n * blocks * block * bits) / 8;
  weightBytes += dataBytes + 4 * n * blocks;
  const dims = [n, blocks, (block * bits) / 8];
  g.initializer({ name: names.data, dataType: DataType.UINT8, dims, raw: randomBytes(dataBytes) });
  g.initializer({
    name: names.scales,
    dataType: DataType.FLOAT,
    dims: [n * blocks],
    raw: scales(n * blocks),
  });
  matMulNBits(g, name, x, names, { rows: n, cols: k, bits, blockSize: block }, y);
});

const session = NativeSession.create(
  { bytes: g.encode(), externalDataFolder: "." },
  { provider: "cpu", threads: Number(threadsArg) },
);

/** Binds inputs and outputs for `rows` rows; returns the median and best ms of `reps` runs. */
function time(rows: number, reps: number): { medianMs: number; bestMs: number } {
  const made: NativeTensor[] = [];
  for (const [k, name] of inputs) {
    const x = session.hostTensor("float32", [rows, k]);
    x.write(Float32Array.from({ length: rows * k }, () => Math.random() - 0.5));
    session.bindInput(name, x);
    made.push(x);
  }
  shapes.forEach(({ n }, i) => {
    const y = session.hostTensor("float32", [rows, n]);
    session.bindOutput(`y_${i}`, y);
    made.push(y);
  });
  for (let i = 0; i < 3; i++) session.run(); // the first runs pack weights and size the buffers
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    session.run();
    ms.push(performance.now() - start);
  }
  for (const t of made) session.releaseTensor(t);
  ms.sort((a, b) => a - b);
  return { medianMs: ms[ms.length >> 1], bestMs: ms[0] };
}

const decode = time(1, 60);
const chunk = time(chunkRows, 12);
session.release();
const macs = shapes.reduce((sum, { k, n }) => sum + k * n, 0);
process.stdout.write(
  `${JSON.stringify({ format, layers: shapes.length, weightBytes, macs, chunkRows, decode, chunk })}\n`,
);
