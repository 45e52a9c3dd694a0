/**
 * Reads an onnxruntime profile (the JSON trace EnableProfiling writes) of one generation: the first
 * `prefillRuns` runs are the prompt, every later run one decoded token. For the decode runs it gives
 * the mean time per run inside onnxruntime, how much of it is kernels, and the kernels by operator.
 */
import { readFile } from "node:fs/promises";

interface TraceEvent {
  cat?: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

export interface DecodeProfile {
  decodeRuns: number;
  /** Mean per decoded token, in ms. */
  runMs: number;
  kernelsMs: number;
  /** Inside the run but outside kernels: onnxruntime's executor between nodes. */
  executorMs: number;
  /** Kernel time per token by operator, largest first. */
  byOperator: { op: string; ms: number; nodes: number }[];
}

export async function readDecodeProfile(file: string, prefillRuns: number): Promise<DecodeProfile> {
  const events = JSON.parse(await readFile(file, "utf8")) as TraceEvent[];
  const runs = events.filter((e) => e.name === "model_run").sort((a, b) => a.ts - b.ts);
  const decode = runs.slice(prefillRuns);
  if (decode.length === 0) throw new Error(`the profile ${file} has no decode runs`);
  const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"));
  const byOp = new Map<string, { us: number; count: number }>();
  let kernelUs = 0;
  for (const run of decode) {
    for (const k of kernels) {
      if (k.ts < run.ts || k.ts > run.ts + run.dur) continue;
      kernelUs += k.dur;
      const op = k.args?.op_name ?? "?";
      const entry = byOp.get(op) ?? { us: 0, count: 0 };
      entry.us += k.dur;
      entry.count++;
      byOp.set(op, entry);
    }
  }
  const n = decode.length;
  const runUs = decode.reduce((sum, r) => sum + r.dur, 0);
  return {
    decodeRuns: n,
    runMs: runUs / n / 1000,
    kernelsMs: kernelUs / n / 1000,
    executorMs: (runUs - kernelUs) / n / 1000,
    byOperator: [...byOp.entries()]
      .map(([op, { us, count }]) => ({ op, ms: us / n / 1000, nodes: count / n }))
      .sort((a, b) => b.ms - a.ms),
  };
}
