import { describe, expect, it } from "vitest";
import { parsePlacementLog } from "../../engine/runtime/placement.ts";

describe("placement log", () => {
  it("reads a graph placed on one provider", () => {
    const log =
      "[V:onnxruntime:, session_state.cc:1380 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 49";
    expect(parsePlacementLog(log).nodesByProvider).toEqual({ WebGpuExecutionProvider: 49 });
  });

  it("reads a graph split between providers, so a silent CPU fallback is visible", () => {
    const log = [
      "VerifyEachNodeIsAssignedToAnEp] Node placements",
      "VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CoreMLExecutionProvider]. Number of nodes: 12",
      "VerifyEachNodeIsAssignedToAnEp]   Add (/model/layers.0/Add)",
      "VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 37",
      "VerifyEachNodeIsAssignedToAnEp]   GroupQueryAttention (/model/layers.0/attn/GroupQueryAttention)",
    ].join("\n");
    expect(parsePlacementLog(log).nodesByProvider).toEqual({
      CoreMLExecutionProvider: 12,
      CPUExecutionProvider: 37,
    });
  });
});
