import { defineConfig } from "vitest/config";

// onnxruntime reports telemetry to Microsoft unless this is set before it initializes; the test
// workers inherit it (engine/runtime/ort/environment.ts does the same for every Elmwood process).
process.env.ORT_DISABLE_TELEMETRY = "1";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Engine tests build ONNX models and run onnxruntime sessions: give them room on a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
