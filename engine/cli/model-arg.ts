/** The --model argument: a converted model folder or a name in the model store (default: the default model). */
import { resolveModelDir } from "../../models/store.ts";

export async function resolveModelArg(value: string | undefined): Promise<string> {
  return resolveModelDir(value ?? "");
}
