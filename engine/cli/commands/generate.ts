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

export const generate: Command = {
  name: "generate",
  usage:
    "generate [--model NAME|DIR] (--prompt TEXT | --tokens 1,2,3) [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S] [--provider auto|cpu|webgpu|cuda|dml|coreml] [--threads N] [--json]",
  help: "Generates a continuation. --prompt text gets BOS; --tokens ids are used exactly as given. Greedy unless --temperature is above 0.",
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
