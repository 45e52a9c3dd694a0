/** The model of a one-off command (generate, logits), loaded in this thread from the shared options. */
import { ModelSession } from "../runtime/model-session.ts";
import { parseModelArgs, resolveModelArg } from "./model-arg.ts";

/** Checks the shared options, then loads the model on the chosen provider ("auto" when not given). */
export async function loadModelFromArgs(values: {
  model?: string;
  provider?: string;
  threads?: string;
}): Promise<ModelSession> {
  const { model, provider, threads } = parseModelArgs(values);
  const { dir } = await resolveModelArg(model);
  return ModelSession.load(dir, { provider: provider ?? "auto", threads });
}
