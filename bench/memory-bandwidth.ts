/**
 * This machine's memory read bandwidth, measured the way decoding uses memory: onnxruntime summing a
 * buffer far larger than the caches, on the same number of threads as the model. Decode speed is then
 * read as a fraction of its limit: bytes of weights read per token / this bandwidth.
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { DataType, GraphBuilder } from "../engine/onnx/graph-builder.ts";

export async function measureReadBandwidth(threads: number, megabytes = 512): Promise<number> {
  const count = (megabytes * 1024 * 1024) / 4;
  const g = new GraphBuilder("bandwidth");
  g.input({ name: "x", dataType: DataType.FLOAT, shape: [count] });
  g.output({ name: "sum", dataType: DataType.FLOAT, shape: [] });
  g.node({
    name: "/ReduceSum",
    op: "ReduceSum",
    inputs: ["x"],
    outputs: ["sum"],
    attributes: { keepdims: { int: 0 } },
  });
  const dir = await mkdtemp(join(tmpdir(), "elmwood-bw-"));
  try {
    const path = join(dir, "sum.onnx");
    await writeFile(path, g.encode());
    const session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: threads,
      executionProviders: ["cpu"],
    });
    const data = new Float32Array(count).fill(1);
    const x = new ort.Tensor("float32", data, [count]);
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      await session.run({ x });
      best = Math.min(best, performance.now() - t0);
    }
    await session.release();
    return (count * 4) / (best / 1000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
