/**
 * The kernels benchmark (bench/kernels.ts) times the model's linear layers alone: its list of shapes
 * must be exactly the graph's, or its table would describe some other model.
 */
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { kernelsTable, linearShapes } from "../../bench/kernels.ts";
import { parseOpenElmConfig } from "../../engine/openelm/config.ts";
import { buildOpenElmGraph } from "../../engine/openelm/graph.ts";
import { OPENELM_270M_SHAPE, randomCheckpointConfig } from "../support/random-checkpoint.ts";

const { onnx } = onnxProto;

describe("the kernels benchmark", () => {
  it("times every linear layer of the graph, the tied head left out", () => {
    const config = parseOpenElmConfig(randomCheckpointConfig(OPENELM_270M_SHAPE));
    const model = onnx.ModelProto.decode(buildOpenElmGraph(config, "int4", 128, "standard").builder.encode());
    const attribute = (node: onnxProto.onnx.INodeProto, name: string) =>
      Number(node.attribute?.find((a) => a.name === name)?.i);
    const inGraph = (model.graph?.node ?? [])
      .filter((n) => n.opType === "MatMulNBits" && !n.name?.startsWith("/lm_head"))
      .map((n) => `${attribute(n, "K")}x${attribute(n, "N")}`);
    const timed = linearShapes(config).map(({ k, n }) => `${k}x${n}`);
    expect(timed.length).toBe(4 * config.numLayers);
    expect(timed).toEqual(inGraph);
  });

  it("shows each format against int4, with its bandwidth and its rate over a chunk", () => {
    const row = (format: "int4" | "int8-gemm", decodeMs: number, chunkMs: number) => ({
      format,
      kernel: format,
      weightBytes: 100 * 2 ** 20,
      chunkRows: 128,
      decodeMs,
      chunkMs,
      decodeBytesPerSecond: (100 * 2 ** 20) / (decodeMs / 1000),
      chunkOpsPerSecond: 2e12 / (chunkMs / 1000),
      rounds: [],
    });
    const table = kernelsTable([row("int4", 4, 160), row("int8-gemm", 8, 40)]);
    const [header, int4, int8] = table.split("\n");
    expect(header).toContain("128 rows ms");
    expect(int4).not.toContain("x int4");
    expect(int8).toContain("8.00 (0.50x int4)");
    expect(int8).toContain("40.0 (4.00x int4)");
    expect(int8).toContain("13.1"); // 100 MiB in 8 ms, in GB/s
  });
});
