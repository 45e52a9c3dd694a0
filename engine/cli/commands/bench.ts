import type { Command } from "../command.ts";

export const bench: Command = {
  name: "bench",
  usage:
    "bench [--suite engine|documents|all] [--provider auto|cpu|webgpu|cuda|dml|coreml] [--precision fp32,int8,int4] [--threads N]",
  help: "Benchmarks an OpenELM-270M-shaped random model (built once, cached in .cache/bench): load, prefill, decode against memory bandwidth, time to first token cold and on a follow-up turn, peak RSS. Prints a table and one JSON line.",
  async run(args) {
    // The benchmark lives with the repository's benchmarks (npm run bench); loaded only when asked for.
    const { runBenchmark } = await import("../../../bench/run.ts");
    await runBenchmark(args);
    return 0;
  },
};
