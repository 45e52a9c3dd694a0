/**
 * `npm run bench -- --suite kernels`: the model's matmuls alone, per weight format, for one decoded
 * token (one row) and one prefill chunk (its rows). This is where a token's and a prompt's time goes
 * (MatMulNBits is most of both, README), so the table says what each format's kernel costs on this
 * CPU: how fast one row streams the weights (decode is bandwidth-bound) and how fast many rows compute
 * (prefill is compute-bound, and only onnxruntime's int8 GEMM uses a CPU's AMX tiles).
 * Each format runs in a child of its own, alternating, twice.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { OpenElmConfig } from "../engine/openelm/config.ts";

export const KERNEL_FORMATS = ["int4", "int8", "int8-gemm"] as const;
export type KernelFormat = (typeof KERNEL_FORMATS)[number];

const DESCRIPTIONS: Record<KernelFormat, string> = {
  int4: "MatMulNBits, 4-bit, blocks of 128 (the int4 models)",
  int8: "MatMulNBits, 8-bit, blocks of 32 (the int8 models)",
  "int8-gemm": "int8 GEMM (DynamicQuantizeMatMul), a scale per column",
};

/** Every linear layer's [K in, N out], in graph order; the head (one row, once a run) is left out. */
export function linearShapes(config: OpenElmConfig): { name: string; k: number; n: number }[] {
  const d = config.modelDim;
  const h = config.headDim;
  return config.layers.flatMap((layer, i) => [
    { name: `layers.${i}.qkv`, k: d, n: (layer.queryHeads + 2 * layer.kvHeads) * h },
    { name: `layers.${i}.out`, k: layer.queryHeads * h, n: d },
    { name: `layers.${i}.up`, k: d, n: 2 * layer.ffnDim },
    { name: `layers.${i}.down`, k: layer.ffnDim, n: d },
  ]);
}

interface ChildResult {
  format: KernelFormat;
  layers: number;
  weightBytes: number;
  macs: number;
  chunkRows: number;
  decode: { medianMs: number; bestMs: number };
  chunk: { medianMs: number; bestMs: number };
}

export interface KernelRow {
  format: KernelFormat;
  kernel: string;
  weightBytes: number;
  chunkRows: number;
  /** Medians of each round's median. */
  decodeMs: number;
  chunkMs: number;
  /** Weight bytes read per second by the one-row run. */
  decodeBytesPerSecond: number;
  /** Multiply-adds x 2 per second over the chunk. */
  chunkOpsPerSecond: number;
  rounds: ChildResult[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export async function benchKernels(
  configFile: string,
  threads: number,
  chunkRows: number,
  rounds = 2,
): Promise<KernelRow[]> {
  const run = promisify(execFile);
  const runner = fileURLToPath(new URL("../bin/run-ts.js", import.meta.url));
  const child = fileURLToPath(new URL("./kernels-child.ts", import.meta.url));
  const results = new Map<KernelFormat, ChildResult[]>(KERNEL_FORMATS.map((f) => [f, []]));
  for (let round = 0; round < rounds; round++) {
    for (const format of KERNEL_FORMATS) {
      process.stderr.write(`kernels: ${format}, round ${round + 1} of ${rounds}...\n`);
      const args = [runner, child, format, String(threads), configFile, String(chunkRows)];
      const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 20 });
      results.get(format)?.push(JSON.parse(stdout.trim().split("\n").at(-1) as string));
    }
  }
  return KERNEL_FORMATS.map((format) => {
    const mine = results.get(format) ?? [];
    const decodeMs = median(mine.map((r) => r.decode.medianMs));
    const chunkMs = median(mine.map((r) => r.chunk.medianMs));
    const { weightBytes, macs } = mine[0];
    return {
      format,
      kernel: DESCRIPTIONS[format],
      weightBytes,
      chunkRows,
      decodeMs,
      chunkMs,
      decodeBytesPerSecond: weightBytes / (decodeMs / 1000),
      chunkOpsPerSecond: (2 * macs * chunkRows) / (chunkMs / 1000),
      rounds: mine,
    };
  });
}

export function kernelsTable(rows: KernelRow[]): string {
  const int4 = rows.find((r) => r.format === "int4");
  const header = [
    "format",
    "kernel",
    "weights MB",
    "1 row ms",
    "GB/s",
    `${rows[0]?.chunkRows} rows ms`,
    "GOPS",
  ];
  const relative = (ms: number, base: number | undefined) =>
    base === undefined || ms === base ? "" : ` (${(base / ms).toFixed(2)}x int4)`;
  const cells = rows.map((r) => [
    r.format,
    r.kernel,
    (r.weightBytes / 2 ** 20).toFixed(0),
    `${r.decodeMs.toFixed(2)}${relative(r.decodeMs, int4?.decodeMs)}`,
    (r.decodeBytesPerSecond / 1e9).toFixed(1),
    `${r.chunkMs.toFixed(1)}${relative(r.chunkMs, int4?.chunkMs)}`,
    (r.chunkOpsPerSecond / 1e9).toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}
