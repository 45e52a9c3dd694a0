/**
 * The options every command that runs a model shares, parsed here and nowhere else: --model (an
 * installed model's name or a converted model folder; the default model when omitted), --provider
 * and --threads. Free of the runtime, so commands that get their model from elsewhere can use it.
 */
import { type ModelTarget, resolveModel } from "../../models/store.ts";
import { recoverModelStoreMove } from "../../models/store-move.ts";
import type { ProviderChoice } from "../api/contract.ts";
import { type ElmwoodPaths, elmwoodPaths } from "../paths.ts";
import { parseProviderChoice } from "../runtime/providers.ts";
import { numberOption } from "./parse.ts";

/** For parseArgs: the shared options, to spread into a command's own. */
export const MODEL_OPTIONS = {
  model: { type: "string" },
  provider: { type: "string" },
  threads: { type: "string" },
} as const;

export interface ModelArgs {
  /** As given; resolve it with resolveModelArg. */
  model?: string;
  /** Undefined when not given: a one-off command then picks "auto", `serve` keeps the saved setting. */
  provider?: ProviderChoice;
  threads?: number;
}

/** Checks --provider and --threads (one clear line naming the option when wrong). */
export function parseModelArgs(values: { model?: string; provider?: string; threads?: string }): ModelArgs {
  return {
    model: values.model,
    provider: values.provider === undefined ? undefined : parseProviderChoice(values.provider),
    threads:
      values.threads === undefined
        ? undefined
        : numberOption(values.threads, "--threads", 1, { integer: true, min: 1 }),
  };
}

/** The model --model names: its folder, and its store name when it is installed. */
export async function resolveModelArg(value: string | undefined, paths?: ElmwoodPaths): Promise<ModelTarget> {
  // A move of the store that a crash interrupted is finished or undone before the store is read.
  const where = paths ?? elmwoodPaths();
  await recoverModelStoreMove(where);
  return resolveModel(value ?? "", where);
}
