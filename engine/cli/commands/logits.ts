import { parseArgs } from "node:util";
import { ElmwoodError } from "../../errors.ts";
import { type Command, printJson } from "../command.ts";
import { loadModelFromArgs } from "../load-model.ts";
import { MODEL_OPTIONS } from "../model-arg.ts";
import { parseTokenList } from "../parse.ts";
import { remoteModelArg } from "../remote-model.ts";

export const logits: Command = {
  name: "logits",
  usage: "logits [--model NAME|DIR] --tokens 1,2,3 [--provider P] [--threads N] --json",
  help: "Prints the logits for the position after the given tokens (one float per vocabulary entry).",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...MODEL_OPTIONS,
        tokens: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    if (values.tokens === undefined)
      throw new ElmwoodError("BAD_INPUT", "logits needs --tokens.", "Example: --tokens 1,15043,3186");
    // Logits are over Elmwood's own tokenizer's vocabulary; a remote engine gives text only.
    const remote = values.model === undefined ? null : await remoteModelArg(values.model);
    if (remote) {
      await remote.close();
      throw new ElmwoodError(
        "BAD_INPUT",
        `${values.model} is a remote engine's model: it gives text, not logits over Elmwood's tokenizer.`,
        "Give an installed model (elmwood models list) for logits.",
      );
    }
    const session = await loadModelFromArgs(values);
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
