/**
 * One benchmark run of one converted model, in its own process so that peak RSS is this model's:
 * load, a cold 256-token prefill, 128 decoded tokens, then a follow-up turn on the prefix cache.
 * Prints one JSON line.
 */
import { isElmwoodError } from "../engine/errors.ts";
import { generate } from "../engine/runtime/generator.ts";
import { ModelSession } from "../engine/runtime/model-session.ts";
import { parseProviderChoice } from "../engine/runtime/providers.ts";
import { GREEDY } from "../engine/runtime/sampler.ts";

/** Resident memory now, in MB: where the peak comes from is reported stage by stage. */
const rssMB = () => process.memoryUsage().rss / 2 ** 20;
const runtimeMB = rssMB(); // Node and onnxruntime's library, before anything of ours is loaded

const [dir, providerArg, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg);
// Imported here, not above, so its vocabulary's share of memory can be told apart.
const { llamaTokenizer } = await import("../engine/text/tokenizer.ts");
const tokenizer = llamaTokenizer();
const tokenizerMB = rssMB() - runtimeMB;
const prompt = [1, ...Array.from({ length: 255 }, (_, i) => 300 + ((i * 7919) % 29000))];

const loadStart = performance.now();
const session = await ModelSession.load(dir, { provider: parseProviderChoice(providerArg), threads }).catch(
  (error) => {
    // One line for the parent's report: why this provider was not measured.
    process.stderr.write(`${isElmwoodError(error) ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
const loadMs = performance.now() - loadStart;
const modelMB = rssMB() - runtimeMB - tokenizerMB;

// Warm the kernels once (first runs allocate and pack), then measure from a cold cache.
await generate(session, tokenizer, { prompt: prompt.slice(0, 16), maxNewTokens: 4, sampling: GREEDY });
session.reset();
const first = await generate(session, tokenizer, { prompt, maxNewTokens: 128, sampling: GREEDY });

// The next chat turn: the previous prompt and reply, then 24 new tokens of the user's message.
const followUpPrompt = [...prompt, ...first.tokens, 2, ...Array.from({ length: 24 }, (_, i) => 500 + i * 13)];
const followUp = await generate(session, tokenizer, {
  prompt: followUpPrompt,
  maxNewTokens: 1,
  sampling: GREEDY,
});
await session.close();

process.stdout.write(
  `${JSON.stringify({
    provider: session.provider.name,
    providerReason: session.provider.reason,
    loadMs,
    prefillTokensPerSecond: first.timings.prefillTokensPerSecond,
    decodeTokensPerSecond: first.timings.decodeTokensPerSecond,
    decodedTokens: first.tokens.length,
    firstTokenMs: first.timings.firstTokenMs,
    followUpFirstTokenMs: followUp.timings.firstTokenMs,
    followUpReusedTokens: followUp.timings.reusedTokens,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    // Where the peak comes from: the runtime, the tokenizer, the loaded model, and what running added.
    memoryMB: {
      runtime: runtimeMB,
      tokenizer: tokenizerMB,
      model: modelMB,
      running: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 - runtimeMB - tokenizerMB - modelMB,
    },
  })}\n`,
);
