/**
 * One benchmark run of one converted model, in its own process so that peak RSS is this model's.
 * The model runs as the app runs it: in its worker thread behind a ModelHost, with tokens streamed
 * back as messages, so every figure includes what the app pays between threads.
 *
 * Measured, after a warm-up (first runs allocate and pack), best and median of REPS:
 *  - a cold 256-token prefill and 128 greedy tokens after it;
 *  - the follow-up turn's first token on the prefix cache, and the same with the message read ahead
 *    while it was typed (what the chat's composer does: all but its last word prefilled);
 *  - decode speed with about 300 and about 1,800 tokens of context;
 *  - where a decoded token's time goes: inside onnxruntime's run, copying in and out of it, and our
 *    own loop (sampling, detokenizing, the message to the main thread), and from a profiled run of
 *    its own, how much of the run is kernels and which.
 * Prints one JSON line.
 */
import { readFileSync } from "node:fs";
import { isElmwoodError } from "../engine/errors.ts";
import type { GenerateResult } from "../engine/runtime/generator.ts";
import { ModelHost } from "../engine/runtime/model-host.ts";
import type { RunStats } from "../engine/runtime/model-session.ts";
import { parseProviderChoice } from "../engine/runtime/providers.ts";
import { GREEDY } from "../engine/runtime/sampler.ts";
import { readDecodeProfile } from "./profile.ts";

/** Resident memory now, in MB: where the peak comes from is reported stage by stage. */
const rssMB = () => process.memoryUsage().rss / 2 ** 20;
/**
 * This process's peak resident memory, in bytes. On Linux, getrusage's maxrss (what
 * process.resourceUsage() reports) keeps the high-water mark of the address space this process had
 * before exec, that is of the forked copy of its parent: a parent holding 600 MB when it spawned the
 * child made the child's peak read 600 MB. /proc's VmHWM is the peak of this process's own memory.
 */
function peakRss(): number {
  if (process.platform === "linux") {
    const status = readFileSync("/proc/self/status", "utf8");
    const kB = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    if (kB) return Number(kB) * 1024;
  }
  return process.resourceUsage().maxRSS * 1024;
}
const runtimeMB = rssMB(); // Node and the engine's code, before a model or a tokenizer is loaded

const [dir, providerArg, threadsArg, profileDir] = process.argv.slice(2);
const threads = Number(threadsArg);
const provider = parseProviderChoice(providerArg);
const REPS = 3;
const clock = () => performance.timeOrigin + performance.now();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const tokensOf = (n: number, seed: number) => [
  1,
  ...Array.from({ length: n - 1 }, (_, i) => 300 + (((i + seed) * 7919) % 29000)),
];

const fail = (error: unknown): never => {
  // One line for the parent's report: why this provider was not measured.
  process.stderr.write(`${isElmwoodError(error) ? error.message : String(error)}\n`);
  process.exit(1);
};

const loadStart = performance.now();
const host = await ModelHost.start(dir, { provider, threads }).catch(fail);
const loadMs = performance.now() - loadStart;
// The tokenizer lives in the worker with the model, so the model's share includes its vocabulary.
const modelMB = rssMB() - runtimeMB;

interface Timed {
  result: GenerateResult & { runStats?: RunStats };
  /** From sending the request to the first token's arrival. */
  firstTokenMs: number;
  /** Decode tokens per second as they arrived on this thread. */
  decodeTokensPerSecond: number;
  /** Mean time a token message took from the worker to this thread. */
  messageMs: number;
  /** Mean interval between arriving tokens, ms. */
  tokenMs: number;
}

async function timed(prompt: number[], maxNewTokens: number): Promise<Timed> {
  const arrivals: number[] = [];
  const transit: number[] = [];
  const sent = clock();
  const result = await host.generate(
    { prompt, maxNewTokens, sampling: GREEDY },
    {
      timing: true,
      onToken: (token, sentAt) => {
        if (token.id < 0) return; // the flush of held-back text, not a model step
        const at = clock();
        arrivals.push(at);
        if (sentAt !== undefined) transit.push(at - sentAt);
      },
    },
  );
  const span = arrivals.length > 1 ? (arrivals.at(-1) as number) - arrivals[0] : 0;
  return {
    result,
    firstTokenMs: (arrivals[0] ?? clock()) - sent,
    decodeTokensPerSecond: span > 0 ? ((arrivals.length - 1) / span) * 1000 : 0,
    messageMs: transit.length ? transit.reduce((a, b) => a + b, 0) / transit.length : 0,
    tokenMs: arrivals.length > 1 ? span / (arrivals.length - 1) : 0,
  };
}

// Warm the kernels once, then measure from a cold cache (a different prompt, so nothing is reused).
await timed(tokensOf(32, 1), 4);
const prompt = tokensOf(256, 2); // the profiled runs' prompt
const message = (first: number, step: number) => Array.from({ length: 24 }, (_, i) => first + i * step);
const colds: Timed[] = [];
const followUps: Timed[] = [];
const typedFollowUps: Timed[] = [];
for (let r = 0; r < REPS; r++) {
  // A conversation's first turn: a cold 256-token prompt and 128 tokens of reply.
  const coldPrompt = tokensOf(256, 10 + r);
  const cold = await timed(coldPrompt, 128);
  colds.push(cold);
  // The next chat turn: the previous prompt and reply, then 24 new tokens of the user's message.
  const followUpPrompt = [...coldPrompt, ...cold.result.tokens, 2, ...message(500, 13)];
  followUps.push(await timed(followUpPrompt, 1));
  // Another message in the same place, handed to the model as it was typed: all but the last word
  // (4 tokens here) was prefilled while the model was idle, as the composer's chat.prepare does.
  const typedPrompt = [...followUpPrompt.slice(0, -24), ...message(900, 17)];
  await host.prefill(typedPrompt.slice(0, -4));
  typedFollowUps.push(await timed(typedPrompt, 1));
}
const first = colds.reduce((a, b) => (b.decodeTokensPerSecond > a.decodeTokensPerSecond ? b : a));
const fastest = (runs: Timed[]) => runs.reduce((a, b) => (b.firstTokenMs < a.firstTokenMs ? b : a));
// Peak memory for the workload llama.cpp's anchor measures (a 256-token prompt, 128 tokens after it).
const peakRssBytes = peakRss();

// Decode with the window filling: about 300 and about 1,800 tokens of context.
const atContext: Record<string, number[]> = { "300": [], "1800": [] };
for (let r = 0; r < REPS; r++) {
  for (const length of [300, 1800]) {
    const run = await timed(tokensOf(length - 32, 40 + r), 64);
    atContext[String(length)].push(run.decodeTokensPerSecond);
  }
}
const peakRssLongContextBytes = peakRss();
await host.close();

// Where a decoded token's time goes, from the best cold run.
const stats = first.result.runStats ?? { runs: 0, runMs: 0, copyMs: 0 };
const runMs = stats.runs ? stats.runMs / stats.runs : 0;
const copyMs = stats.runs ? stats.copyMs / stats.runs : 0;

// Kernels, from separate profiled runs (profiling itself slows a run a little): after the 256-token
// prompt, and with about 1,800 tokens in context, where attention's share shows what slows decode.
type Profile = Awaited<ReturnType<typeof readDecodeProfile>>;
async function profiledDecode(name: string, promptTokens: number[]): Promise<Profile> {
  const profiled = await ModelHost.start(dir, { provider, threads, profilePrefix: `${profileDir}/${name}` });
  // The first run of a fresh session packs weights: warm it on another prompt, outside the count.
  await profiled.generate({ prompt: tokensOf(16, 99), maxNewTokens: 1, sampling: GREEDY });
  await profiled.generate({ prompt: promptTokens, maxNewTokens: 33, sampling: GREEDY });
  const file = await profiled.endProfiling();
  await profiled.close();
  return readDecodeProfile(file, 1 + Math.ceil(promptTokens.length / PREFILL_CHUNK));
}
const PREFILL_CHUNK = 128; // the engine's default (model-session.ts)
let profile: Profile | null = null;
let longProfile: Profile | null = null;
if (profileDir) {
  profile = await profiledDecode("decode", prompt);
  longProfile = await profiledDecode("decode-1800", tokensOf(1768, 77));
}

process.stdout.write(
  `${JSON.stringify({
    provider: host.info.provider.name,
    providerReason: host.info.provider.reason,
    loadMs,
    prefillTokensPerSecond: Math.max(...colds.map((c) => c.result.timings.prefillTokensPerSecond)),
    prefillTokensPerSecondMedian: median(colds.map((c) => c.result.timings.prefillTokensPerSecond)),
    decodeTokensPerSecond: first.decodeTokensPerSecond,
    decodeTokensPerSecondMedian: median(colds.map((c) => c.decodeTokensPerSecond)),
    decodedTokens: first.result.tokens.length,
    firstTokenMs: Math.min(...colds.map((c) => c.firstTokenMs)),
    firstTokenMsMedian: median(colds.map((c) => c.firstTokenMs)),
    followUpFirstTokenMs: fastest(followUps).firstTokenMs,
    followUpFirstTokenMsMedian: median(followUps.map((c) => c.firstTokenMs)),
    followUpReusedTokens: fastest(followUps).result.timings.reusedTokens,
    followUpPreparedFirstTokenMs: fastest(typedFollowUps).firstTokenMs,
    followUpPreparedFirstTokenMsMedian: median(typedFollowUps.map((c) => c.firstTokenMs)),
    decodeAt300TokensPerSecond: Math.max(...atContext["300"]),
    decodeAt1800TokensPerSecond: Math.max(...atContext["1800"]),
    decodeAt300Median: median(atContext["300"]),
    decodeAt1800Median: median(atContext["1800"]),
    perToken: {
      totalMs: first.tokenMs,
      onnxruntimeRunMs: runMs,
      copyInOutMs: copyMs,
      ownLoopMs: first.tokenMs - runMs - copyMs,
      messageMs: first.messageMs,
      // From the profiled run (a run of its own, later, with profiling's own cost): its time per token
      // in onnxruntime, how much of it was kernels and the executor, and the kernels by operator.
      profiledRunMs: profile?.runMs ?? null,
      kernelsMs: profile?.kernelsMs ?? null,
      executorMs: profile?.executorMs ?? null,
      topOperators: profile?.byOperator.slice(0, 8) ?? null,
      // The same with about 1,800 tokens in context.
      longContext: longProfile
        ? { profiledRunMs: longProfile.runMs, topOperators: longProfile.byOperator.slice(0, 4) }
        : null,
    },
    peakRssBytes,
    peakRssLongContextBytes,
    // Where the peak comes from: Node and our code, the loaded model (its worker and tokenizer
    // included), and what running added.
    memoryMB: {
      runtime: runtimeMB,
      model: modelMB,
      running: peakRssBytes / 2 ** 20 - runtimeMB - modelMB,
    },
  })}\n`,
);
