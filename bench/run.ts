/**
 * `npm run bench [-- --provider P] [--precision int4,...] [--threads N] [--block-size 32|64|128]`: OpenELM-270M-shaped random
 * checkpoint (built once and cached in .cache/bench), converted to each precision, each measured in
 * its own process. Prints a table, then one JSON object as the last line.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs, promisify } from "node:util";
import onnxProto from "onnx-proto";
import { build } from "vite";
import { ElmwoodError } from "../engine/errors.ts";
import { convertCheckpoint } from "../engine/openelm/convert.ts";
import { BLOCK_SIZES, type BlockSize, defaultBlockSize, type Precision } from "../engine/openelm/graph.ts";
import { CPU_MODEL_FILE, MODEL_FILE } from "../engine/openelm/manifest.ts";
import { cpuGraphFileRunsHere } from "../engine/runtime/int8-gemm-check.ts";
import { DEFAULT_PREFILL_CHUNK } from "../engine/runtime/model-session.ts";
import {
  defaultThreads,
  gpuCandidates,
  type ProviderChoice,
  parseProviderChoice,
} from "../engine/runtime/providers.ts";
import { OPENELM_270M_SHAPE, writeRandomCheckpoint } from "../test/support/random-checkpoint.ts";
import { accuracyTable, benchAccuracy } from "./accuracy.ts";
import { benchDocuments } from "./documents.ts";
import { benchKernels, kernelsTable } from "./kernels.ts";
import { measureReadBandwidth } from "./memory-bandwidth.ts";

const { onnx } = onnxProto;

/**
 * The targets this benchmark can check by itself. Parity with llama.cpp (decode, prefill, peak RSS)
 * is measured beside it with ../shared/anchors/llamacpp_bench.sh on the same checkpoint (README).
 */
const TARGETS = {
  followUpRatio: 0.1,
  /** Decode with ~1,800 tokens of context, as a share of decode with ~300. */
  longContextRatio: 0.85,
  loadMs: 1500,
};

/**
 * bench/openelm-child.ts and the model worker as ES modules side by side, npm dependencies left as
 * imports: the model runs from the bundled worker, as in the app (electron.vite.config.ts).
 */
async function bundleChild(cache: string): Promise<string> {
  const outDir = join(cache, "child");
  await build({
    configFile: false,
    logLevel: "warn",
    build: {
      ssr: true,
      outDir,
      emptyOutDir: true,
      target: "node20",
      rollupOptions: {
        input: {
          "openelm-child": fileURLToPath(new URL("./openelm-child.ts", import.meta.url)),
          "model-worker": fileURLToPath(new URL("../engine/runtime/model-worker.ts", import.meta.url)),
        },
        output: { format: "es", entryFileNames: "[name].js", chunkFileNames: "[name]-[hash].js" },
      },
    },
  });
  return join(outDir, "openelm-child.js");
}

/**
 * The weight bytes a CPU token reads: the graph's initializers in external data, each stored range
 * once. (The data file can hold more: an int8 model keeps the GPU graph's layout of its weights too.)
 */
async function weightBytesRead(graphFile: string): Promise<number> {
  const model = onnx.ModelProto.decode(await readFile(graphFile));
  const ranges = new Map<string, number>();
  for (const t of model.graph?.initializer ?? []) {
    const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
    const length = Number(entry("length") ?? 0);
    if (length > 0) ranges.set(`${entry("location")}:${entry("offset")}`, length);
  }
  return [...ranges.values()].reduce((a, b) => a + b, 0);
}

/** The random OpenELM-270M-shaped checkpoint every suite measures, written once into the cache. */
async function benchCheckpoint(cache: string): Promise<string> {
  const checkpoint = join(cache, "openelm-270m-shape");
  if (!existsSync(join(checkpoint, "config.json"))) {
    process.stderr.write("writing a random OpenELM-270M-shaped checkpoint (once)...\n");
    await mkdir(cache, { recursive: true });
    await writeRandomCheckpoint(checkpoint, { ...OPENELM_270M_SHAPE, seed: 270 });
  }
  return checkpoint;
}

/** The engine benchmark: prints its table and returns its results. */
async function benchEngine(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    options: {
      provider: { type: "string", default: "cpu" },
      precision: { type: "string", default: "fp32,int8,int4" },
      threads: { type: "string" },
      cache: { type: "string", default: ".cache/bench" },
      // Another block size than each precision's default, to measure what the default buys.
      "block-size": { type: "string" },
    },
  });
  // "all": the CPU and every GPU provider this platform has; those that cannot start are reported.
  const providers: ProviderChoice[] =
    values.provider === "all" ? ["cpu", ...gpuCandidates()] : [parseProviderChoice(values.provider)];
  const threads = values.threads ? Number(values.threads) : defaultThreads();
  const precisions = (values.precision ?? "").split(",") as Precision[];
  const blockSizeArg = values["block-size"] === undefined ? undefined : Number(values["block-size"]);
  if (blockSizeArg !== undefined && !BLOCK_SIZES.includes(blockSizeArg as BlockSize)) {
    throw new Error(`--block-size must be one of ${BLOCK_SIZES.join(", ")}`);
  }
  const cache = resolve(values.cache ?? ".cache/bench");
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const checkpoint = await benchCheckpoint(cache);

  log(`measuring memory bandwidth on ${threads} threads...`);
  const bandwidth = await measureReadBandwidth(threads);

  // Each model is measured in a child running the engine bundled, as the app ships it: started through
  // tsx's loader (as the CLI is), the process would carry about 36 MB of loader in its peak RSS.
  log("bundling the benchmark's child process...");
  const child = await bundleChild(cache);
  const run = promisify(execFile);
  const rows: Record<string, unknown>[] = [];
  const skipped: { provider: string; reason: string }[] = [];
  for (const precision of precisions) {
    const blockSize =
      precision === "fp32" ? null : ((blockSizeArg as BlockSize | undefined) ?? defaultBlockSize(precision));
    const blocks = blockSize === null || blockSize === defaultBlockSize(precision) ? "" : `-b${blockSize}`;
    // The suffix changes whenever the converted graph or format does (v3: int4 block 128; v4: the
    // CPU's own graph, model-cpu.onnx; v5: its q and k normed and rotated together; v6: its cache
    // head-major, model-cpu-2.onnx; v7: int8 with a scale per row, through the int8 GEMM on the CPU).
    const model = join(cache, `model-${precision}${blocks}-v7`);
    if (!existsSync(join(model, "manifest.json"))) {
      log(`converting to ${precision}${blocks ? ` in blocks of ${blockSize}` : ""}...`);
      await convertCheckpoint(checkpoint, model, { precision, blockSize: blockSize ?? undefined });
    }
    // Where the folder's CPU graph does not run (int8 where its GEMM saturates), the CPU graph built
    // from model.onnx reads model.onnx's weights.
    const graphFile = cpuGraphFileRunsHere(precision) ? CPU_MODEL_FILE : MODEL_FILE;
    const weightBytes = await weightBytesRead(join(model, graphFile));
    const limit = bandwidth / weightBytes; // tokens/s if each token only had to read the weights once
    for (const provider of providers) {
      log(`running ${precision} on ${provider}...`);
      let result: Record<string, unknown>;
      try {
        const profiles = join(cache, "profiles");
        await mkdir(profiles, { recursive: true });
        const { stdout } = await run(process.execPath, [child, model, provider, String(threads), profiles], {
          maxBuffer: 1 << 20,
        });
        result = JSON.parse(stdout.trim().split("\n").at(-1) as string);
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? String(error);
        const reason = stderr.trim().split("\n").at(-1) ?? "did not start";
        if (!skipped.some((s) => s.provider === provider)) skipped.push({ provider, reason });
        log(`  ${provider}: ${reason}`);
        continue;
      }
      rows.push({
        precision,
        blockSize,
        format: `${precision}${blocks ? ` b${blockSize}` : ""}`,
        ...result,
        weightBytesPerToken: weightBytes,
        decodeLimitTokensPerSecond: limit,
        decodeFractionOfLimit: (result.decodeTokensPerSecond as number) / limit,
        followUpRatio: (result.followUpFirstTokenMs as number) / (result.firstTokenMs as number),
        followUpPreparedRatio:
          (result.followUpPreparedFirstTokenMs as number) / (result.firstTokenMs as number),
        longContextRatio:
          (result.decodeAt1800TokensPerSecond as number) / (result.decodeAt300TokensPerSecond as number),
      });
    }
  }

  const fmt = (n: unknown, digits = 1) => (typeof n === "number" ? n.toFixed(digits) : String(n));
  const header = [
    "precision",
    "provider",
    "load ms",
    "prefill tok/s",
    "decode tok/s",
    "of limit",
    "decode @300",
    "decode @1800",
    "1800/300",
    "TTFT ms",
    "follow-up TTFT ms",
    "typed ahead",
    "peak RSS MB",
  ];
  const table = rows.map((r) => [
    r.format,
    r.provider,
    fmt(r.loadMs, 0),
    fmt(r.prefillTokensPerSecond),
    fmt(r.decodeTokensPerSecond),
    `${fmt((r.decodeFractionOfLimit as number) * 100, 0)}%`,
    fmt(r.decodeAt300TokensPerSecond),
    fmt(r.decodeAt1800TokensPerSecond),
    `${fmt((r.longContextRatio as number) * 100, 0)}%`,
    fmt(r.firstTokenMs, 0),
    fmt(r.followUpFirstTokenMs, 0),
    fmt(r.followUpPreparedFirstTokenMs, 0),
    fmt((r.peakRssBytes as number) / 2 ** 20, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => String(row[i]).length)));
  const line = (cells: unknown[]) => cells.map((c, i) => String(c).padStart(widths[i])).join("  ");
  process.stdout.write(
    `\nOpenELM-270M shape, ${threads} threads, ${cpus()[0]?.model ?? "unknown CPU"}, read bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (best of 3; medians in the JSON)\n`,
  );
  process.stdout.write(`${line(header)}\n${table.map(line).join("\n")}\n`);
  for (const r of rows) {
    const m = r.memoryMB as Record<string, number>;
    const t = r.perToken as {
      totalMs: number;
      onnxruntimeRunMs: number;
      copyInOutMs: number;
      ownLoopMs: number;
      messageMs: number;
      profiledRunMs: number | null;
      kernelsMs: number | null;
      executorMs: number | null;
      topOperators: { op: string; ms: number }[] | null;
      longContext: { profiledRunMs: number; topOperators: { op: string; ms: number }[] } | null;
    };
    const where = `${r.format} on ${r.provider}`;
    process.stdout.write(
      `${where}, per decoded token: ${fmt(t.totalMs, 2)} ms = onnxruntime run ${fmt(t.onnxruntimeRunMs, 2)} ms` +
        ` + copying in and out ${fmt(t.copyInOutMs, 3)} ms + our loop ${fmt(t.ownLoopMs, 2)} ms` +
        ` (sampling, detokenizing, the message to the main thread: ${fmt(t.messageMs, 3)} ms in transit)\n`,
    );
    if (t.profiledRunMs !== null && t.kernelsMs !== null && t.executorMs !== null) {
      const share = (ms: number) => `${fmt((ms / (t.profiledRunMs as number)) * 100, 0)}%`;
      process.stdout.write(
        `${where}, a profiled run (its own, later, with profiling's cost): ${fmt(t.profiledRunMs, 2)} ms a token in onnxruntime = kernels ${fmt(t.kernelsMs, 2)} ms (${share(t.kernelsMs)}) + executor ${fmt(t.executorMs, 2)} ms (${share(t.executorMs)}); kernels: ${(t.topOperators ?? []).map((o) => `${o.op} ${share(o.ms)}`).join(", ")}\n`,
      );
    }
    if (t.longContext) {
      const long = t.longContext;
      process.stdout.write(
        `${where}, profiled with 1,800 tokens in context: ${fmt(long.profiledRunMs, 2)} ms a token in onnxruntime; kernels: ${long.topOperators.map((o) => `${o.op} ${fmt(o.ms, 2)} ms`).join(", ")}\n`,
      );
    }
    process.stdout.write(
      `${where}, peak RSS by stage: runtime ${fmt(m.runtime, 0)} MB, model (worker and tokenizer) ${fmt(m.model, 0)} MB, running ${fmt(m.running, 0)} MB\n`,
    );
  }
  for (const { provider, reason } of skipped) process.stdout.write(`${provider}: not measured (${reason})\n`);
  const int4 = rows.find((r) => r.precision === "int4" && r.provider === "cpu");
  if (int4) {
    const checks = {
      followUpUnder10Percent: (int4.followUpRatio as number) < TARGETS.followUpRatio,
      // The same with the message read ahead as it was typed (the composer's chat.prepare).
      typedAheadFollowUpUnder10Percent: (int4.followUpPreparedRatio as number) < TARGETS.followUpRatio,
      decodeAt1800AtLeast85PercentOf300: (int4.longContextRatio as number) >= TARGETS.longContextRatio,
      loadUnder1500ms: (int4.loadMs as number) < TARGETS.loadMs,
    };
    // The targets are the default format's; a run with --block-size says which blocks it checked.
    const blocks = int4.blockSize === defaultBlockSize("int4") ? "" : ` in blocks of ${int4.blockSize}`;
    process.stdout.write(
      `int4${blocks} targets: ${Object.entries(checks)
        .map(([k, v]) => `${k} ${v ? "yes" : "NO"}`)
        .join(", ")} (parity with llama.cpp: run ../shared/anchors/llamacpp_bench.sh beside this)\n`,
    );
  }
  return {
    shape: "openelm-270m",
    threads,
    skipped,
    cpu: cpus()[0]?.model,
    bandwidthBytesPerSecond: bandwidth,
    targets: TARGETS,
    results: rows,
  };
}

/**
 * `npm run bench [-- --suite engine|kernels|documents|all] [engine options]`: the engine (OpenELM-270M
 * shape), its matmul kernels by weight format, and the documents index (indexing throughput, query
 * latency at 100,000 chunks). Tables on stdout as
 * each suite ends, then one JSON object as the last line.
 */
export async function runBenchmark(args: string[]): Promise<void> {
  const at = args.indexOf("--suite");
  const suite = at >= 0 ? args[at + 1] : "all";
  if (!["engine", "kernels", "documents", "accuracy", "all"].includes(suite ?? "")) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `Unknown --suite '${suite}'.`,
      "Use engine, kernels, documents, accuracy or all (accuracy is not part of all: it takes minutes).",
    );
  }
  const rest = at >= 0 ? [...args.slice(0, at), ...args.slice(at + 2)] : args;
  const report: Record<string, unknown> = {};
  if (suite === "accuracy") {
    const rows = await benchAccuracy(resolve(".cache/bench"), defaultThreads());
    report.accuracy = rows;
    process.stdout.write(
      `\nQuantized formats against fp32 (float64 reference, random checkpoints)\n${accuracyTable(rows)}\n`,
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  if (suite === "engine" || suite === "all") report.engine = await benchEngine(rest);
  if (suite === "kernels" || suite === "all") {
    const checkpoint = await benchCheckpoint(resolve(".cache/bench"));
    const threads = defaultThreads();
    const rows = await benchKernels(join(checkpoint, "config.json"), threads, DEFAULT_PREFILL_CHUNK);
    report.kernels = rows;
    process.stdout.write(
      `\nThe model's linear layers alone (${rows[0]?.chunkRows}-row chunk: a prefill chunk), ${threads} threads, ${cpus()[0]?.model ?? "unknown CPU"}\n${kernelsTable(rows)}\n`,
    );
  }
  if (suite === "documents" || suite === "all") {
    process.stderr.write("indexing a generated corpus of 10,000 files, then querying 100,000 chunks...\n");
    const documents = await benchDocuments();
    report.documents = documents;
    const rows = Object.entries(documents).map(
      ([k, v]) => `${k.padEnd(24)} ${Number.isInteger(v) ? v : v.toFixed(2)}`,
    );
    process.stdout.write(`\nDocuments index\n${rows.join("\n")}\n`);
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await runBenchmark(process.argv.slice(2));
