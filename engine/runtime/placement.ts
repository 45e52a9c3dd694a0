/**
 * Which execution provider each node of a model runs on, read from onnxruntime's verbose session log.
 * A GPU provider that cannot run an operator hands that node to the CPU silently; the log is the one
 * place that says so. Creating a session with verbose logging writes to this process's stderr, so the
 * check runs in a child process and parses what it printed.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ORT_TELEMETRY_OFF } from "./ort/environment.ts";
import type { ProviderName } from "./providers.ts";

export interface Placement {
  /** Provider name as onnxruntime spells it (e.g. "WebGpuExecutionProvider") -> node count. */
  nodesByProvider: Record<string, number>;
}

const ALL_PLACED = /All nodes placed on \[(\w+)\]\. Number of nodes: (\d+)/;
const SOME_PLACED = /Node\(s\) placed on \[(\w+)\]\. Number of nodes: (\d+)/g;

export function parsePlacementLog(log: string): Placement {
  const all = ALL_PLACED.exec(log);
  if (all) return { nodesByProvider: { [all[1]]: Number(all[2]) } };
  const nodesByProvider: Record<string, number> = {};
  for (const match of log.matchAll(SOME_PLACED))
    nodesByProvider[match[1]] = (nodesByProvider[match[1]] ?? 0) + Number(match[2]);
  return { nodesByProvider };
}

/** Creates a session for `modelPath` on `provider` in a child process and reports the placement. */
export async function inspectPlacement(
  modelPath: string,
  provider: ProviderName,
  env = process.env,
): Promise<Placement> {
  const script = `
    const ort = require("onnxruntime-node");
    ort.InferenceSession.create(process.argv[1], { executionProviders: [process.argv[2]], logSeverityLevel: 0 })
      .then(() => process.exit(0), (e) => { console.error("SESSION FAILED: " + e.message); process.exit(3); });`;
  const run = promisify(execFile);
  const cwd = fileURLToPath(new URL("../..", import.meta.url));
  const { stdout, stderr } = await run(process.execPath, ["-e", script, modelPath, provider], {
    cwd,
    env: { ...env, ...ORT_TELEMETRY_OFF },
    maxBuffer: 256 * 1024 * 1024,
  });
  return parsePlacementLog(stdout + stderr);
}
