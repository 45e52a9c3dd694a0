import { parseArgs } from "node:util";
import { ElmwoodError } from "../../errors.ts";
import { generate as runGeneration } from "../../runtime/generator.ts";
import { GREEDY, type SamplingOptions } from "../../runtime/sampler.ts";
import { llamaTokenizer } from "../../text/tokenizer.ts";
import { type Command, log, printJson } from "../command.ts";
import { loadModelFromArgs } from "../load-model.ts";
import { MODEL_OPTIONS } from "../model-arg.ts";
import { numberOption, parseTokenList } from "../parse.ts";
import { abortOnSigint } from "../progress.ts";
import { type RemoteModelArg, remoteModelArg } from "../remote-model.ts";

export const generate: Command = {
  name: "generate",
  usage:
    "generate [--model NAME|DIR|ENGINE/MODEL] (--prompt TEXT | --tokens 1,2,3) [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S] [--provider auto|cpu|webgpu|cuda|dml|coreml] [--threads N] [--json]",
  help: [
    "Generates a continuation. --prompt text gets BOS; --tokens ids are used exactly as given. Greedy unless --temperature is above 0.",
    "With a remote engine's model (--model <engine>/<model>), the prompt is sent to that engine's /v1/completions and",
    "continued there; --tokens, --top-k, --min-p and --repetition-penalty apply to installed models only.",
  ].join("\n"),
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...MODEL_OPTIONS,
        prompt: { type: "string" },
        tokens: { type: "string" },
        "max-new-tokens": { type: "string", default: "64" },
        temperature: { type: "string" },
        "top-k": { type: "string" },
        "top-p": { type: "string" },
        "min-p": { type: "string" },
        "repetition-penalty": { type: "string" },
        seed: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    if ((values.prompt === undefined) === (values.tokens === undefined)) {
      throw new ElmwoodError(
        "BAD_INPUT",
        "Give exactly one of --prompt or --tokens.",
        "Example: elmwood generate --model m --prompt 'Once upon a time'",
      );
    }
    const sampling: SamplingOptions = {
      temperature: numberOption(values.temperature, "--temperature", GREEDY.temperature),
      topK: numberOption(values["top-k"], "--top-k", GREEDY.topK, { integer: true }),
      topP: numberOption(values["top-p"], "--top-p", GREEDY.topP),
      minP: numberOption(values["min-p"], "--min-p", GREEDY.minP),
      repetitionPenalty: numberOption(
        values["repetition-penalty"],
        "--repetition-penalty",
        GREEDY.repetitionPenalty,
      ),
      seed: values.seed === undefined ? undefined : numberOption(values.seed, "--seed", 0, { integer: true }),
    };
    const maxNewTokens = numberOption(values["max-new-tokens"], "--max-new-tokens", 64, {
      integer: true,
      min: 1,
    });

    const remote = await remoteModelArg(values.model);
    if (remote) {
      try {
        if (values.tokens !== undefined) {
          throw new ElmwoodError(
            "BAD_INPUT",
            `${remote.model.name} is a remote model: its engine has its own tokenizer, so it takes --prompt, not --tokens.`,
            "Give the prompt as text with --prompt.",
          );
        }
        return await generateRemotely(remote, values.prompt ?? "", maxNewTokens, sampling, values.json);
      } finally {
        await remote.close();
      }
    }

    const tokenizer = llamaTokenizer();
    const prompt =
      values.tokens !== undefined
        ? parseTokenList(values.tokens, tokenizer.vocabSize)
        : tokenizer.encode(values.prompt ?? "", { bos: true });
    const session = await loadModelFromArgs(values);
    try {
      log(
        `model ${session.dir} on ${session.provider.label} (${session.provider.reason}); prompt ${prompt.length} tokens`,
      );
      const result = await runGeneration(session, tokenizer, {
        prompt,
        maxNewTokens,
        sampling,
        continues: prompt,
        signal: abortOnSigint(),
        onToken: values.json ? undefined : ({ text }) => process.stdout.write(text),
      });
      if (values.json) {
        printJson({
          tokens: result.tokens,
          text: result.text,
          finishReason: result.finishReason,
          provider: session.provider.name,
          providerReason: session.provider.reason,
          promptTokens: prompt.length,
          contextUsed: prompt.length + result.tokens.length,
          contextLength: session.contextLength,
          prefillTokensPerSecond: result.timings.prefillTokensPerSecond,
          decodeTokensPerSecond: result.timings.decodeTokensPerSecond,
          firstTokenMs: result.timings.firstTokenMs,
        });
      } else {
        process.stdout.write("\n");
        log(
          `${result.tokens.length} tokens (${result.finishReason}); prefill ${result.timings.prefillTokensPerSecond.toFixed(1)} tok/s, decode ${result.timings.decodeTokensPerSecond.toFixed(1)} tok/s`,
        );
      }
      return 0;
    } finally {
      await session.close();
    }
  },
};

/** The prompt continued by a remote engine (its /v1/completions), streamed to stdout. */
async function generateRemotely(
  remote: RemoteModelArg,
  text: string,
  maxNewTokens: number,
  sampling: SamplingOptions,
  json: boolean,
): Promise<number> {
  const { model, generator } = remote;
  const host = model.remote?.host ?? "?";
  const prepared = model.prepareText(text);
  log(`model ${model.name}: the prompt is sent to ${host}`);
  const result = await generator.generate(
    { prompt: prepared.prompt, maxNewTokens, sampling, stopStrings: prepared.stopStrings },
    {
      signal: abortOnSigint(),
      onToken: json ? undefined : ({ text: piece }) => process.stdout.write(piece),
    },
  );
  // A stream that broke off keeps what came, but says so and fails.
  if (result.interruption) {
    if (!json) process.stdout.write("\n");
    throw new ElmwoodError("NETWORK", result.interruption.message, "Try again.");
  }
  const counts = result.estimated ? " (estimated: the engine reported no usage)" : "";
  if (json) {
    printJson({
      tokens: [],
      text: result.text,
      finishReason: result.finishReason,
      provider: "remote",
      providerReason: `sent to ${host}`,
      promptTokens: result.promptTokens,
      completionTokens: result.completionTokens,
      tokensEstimated: result.estimated,
      contextUsed: result.promptTokens + result.completionTokens,
      contextLength: model.contextLength,
      prefillTokensPerSecond: 0,
      decodeTokensPerSecond: result.tokensPerSecond,
      firstTokenMs: result.firstTokenMs,
    });
  } else {
    process.stdout.write("\n");
    log(
      `${result.completionTokens} tokens${counts} (${result.finishReason}); ${result.tokensPerSecond.toFixed(1)} tok/s from ${host}`,
    );
  }
  return 0;
}
