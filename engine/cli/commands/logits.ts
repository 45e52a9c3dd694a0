import { parseArgs } from "node:util";
import { ElmwoodError } from "../../errors.ts";
import { ModelSession } from "../../runtime/model-session.ts";
import { parseProviderChoice } from "../../runtime/providers.ts";
import { type Command, printJson } from "../command.ts";
import { resolveModelArg } from "../model-arg.ts";
import { numberOption, parseTokenList } from "../parse.ts";

export const logits: Command = {
  name: "logits",
  usage: "logits --model <dir|name> --tokens 1,2,3 [--provider P] [--threads N] --json",
  help: "Prints the logits for the position after the given tokens (one float per vocabulary entry).",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        tokens: { type: "string" },
        provider: { type: "string", default: "auto" },
        threads: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    if (values.tokens === undefined)
      throw new ElmwoodError("BAD_INPUT", "logits needs --tokens.", "Example: --tokens 1,15043,3186");
    const provider = parseProviderChoice(values.provider);
    const threads =
      values.threads === undefined
        ? undefined
        : numberOption(values.threads, "--threads", 1, { integer: true, min: 1 });
    const dir = await resolveModelArg(values.model);
    const session = await ModelSession.load(dir, { provider, threads });
    try {
      const tokens = parseTokenList(values.tokens, session.config.vocabSize);
      const { logits } = await session.logitsFor(tokens);
      if (values.json) printJson({ logits: Array.from(logits), provider: session.provider.name });
      else process.stdout.write(`${Array.from(logits, (x) => x.toPrecision(6)).join(" ")}\n`);
      return 0;
    } finally {
      await session.close();
    }
  },
};
