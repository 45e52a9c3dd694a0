/**
 * This machine's memory read bandwidth, measured the way decoding uses memory: onnxruntime summing
 * the rows of a weight far larger than the caches, on the same number of threads as the model. The
 * weight is an initializer in external data (no copy from JavaScript on each run) and the reduction
 * axis is a graph input, so nothing can be folded away at load. Decode speed is then read as a
 * fraction of its limit: bytes of weights read per token / this bandwidth.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { DataType, GraphBuilder } from "../engine/onnx/graph-builder.ts";
import { ortEnvironment } from "../engine/runtime/ort/environment.ts";

export async function measureReadBandwidth(threads: number, megabytes = 512): Promise<number> {
  const rows = 1024;
  const columns = (megabytes * 1024 * 1024) / 4 / rows;
  const bytes = rows * columns * 4;
  const g = new GraphBuilder("bandwidth");
  g.initializer({
    name: "weight",
    dataType: DataType.FLOAT,
    dims: [rows, columns],
    external: { location: "weight.bin", offset: 0, length: bytes },
  });
  g.input({ name: "axes", dataType: DataType.INT64, shape: [1] });
  g.output({ name: "sums", dataType: DataType.FLOAT, shape: [rows] });
  g.node({
    name: "/ReduceSum",
    op: "ReduceSum",
    inputs: ["weight", "axes"],
    outputs: ["sums"],
    attributes: { keepdims: { int: 0 } },
  });
  const dir = await mkdtemp(join(tmpdir(), "elmwood-bw-"));
  try {
    await writeFile(join(dir, "weight.bin"), new Uint8Array(new Float32Array(rows * columns).fill(1).buffer));
    await writeFile(join(dir, "sum.onnx"), g.encode());
    ortEnvironment(); // telemetry off before onnxruntime-node creates its environment
    const session = await ort.InferenceSession.create(join(dir, "sum.onnx"), {
      intraOpNumThreads: threads,
      executionProviders: ["cpu"],
      graphOptimizationLevel: "disabled",
    });
    const axes = new ort.Tensor("int64", BigInt64Array.of(1n), [1]);
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      await session.run({ axes });
      best = Math.min(best, performance.now() - t0);
    }
    await session.release();
    return bytes / (best / 1000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
