/**
 * The options every command that runs a model shares: --model (a converted model folder or a name in
 * the model store; the default model when omitted), --provider and --threads.
 */
import { resolveModelDir } from "../../models/store.ts";
import { recoverModelStoreMove } from "../../models/store-move.ts";
import { elmwoodPaths } from "../paths.ts";
import { ModelSession } from "../runtime/model-session.ts";
import { parseProviderChoice } from "../runtime/providers.ts";
import { numberOption } from "./parse.ts";

/** For parseArgs: the shared options, to spread into a command's own. */
export const MODEL_OPTIONS = {
  model: { type: "string" },
  provider: { type: "string", default: "auto" },
  threads: { type: "string" },
} as const;

export async function resolveModelArg(value: string | undefined): Promise<string> {
  // A move of the store that a crash interrupted is finished or undone before the store is read.
  const paths = elmwoodPaths();
  await recoverModelStoreMove(paths);
  return resolveModelDir(value ?? "", paths);
}

/** Checks the shared options, then loads the model on the chosen provider. */
export async function loadModelFromArgs(values: {
  model?: string;
  provider?: string;
  threads?: string;
}): Promise<ModelSession> {
  const provider = parseProviderChoice(values.provider);
  const threads =
    values.threads === undefined
      ? undefined
      : numberOption(values.threads, "--threads", 1, { integer: true, min: 1 });
  return ModelSession.load(await resolveModelArg(values.model), { provider, threads });
}
