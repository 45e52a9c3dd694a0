/**
 * A --model that names a remote engine's model: `<engine>/<model>` where the engine is one the
 * person added (`elmwood engines list`), or, without --model, a remote model chosen as the default.
 * Anything else (an installed model, a folder, a hub repo id such as apple/OpenELM-270M) is left to
 * model-arg.ts. An engine's name wins over a folder of the same relative path; "./gpu/x" is a folder.
 */
import { type ElmwoodPaths, elmwoodPaths } from "../paths.ts";
import { RemoteEngines, splitRemoteName } from "../remote/engines.ts";
import type { Generator, PromptModel } from "../service/generation.ts";

export interface RemoteModelArg {
  model: PromptModel;
  generator: Generator;
  /** Closes the engine's connections, so the command can exit. */
  close(): Promise<void>;
}

export async function remoteModelArg(
  value: string | undefined,
  paths: ElmwoodPaths = elmwoodPaths(),
): Promise<RemoteModelArg | null> {
  const engines = new RemoteEngines({ paths });
  const name = value ?? (await engines.defaultModel());
  const parts = name ? splitRemoteName(name) : null;
  const known = parts && (await engines.list()).engines.some((e) => e.name === parts.engine);
  if (!name || !known) {
    await engines.close();
    return null;
  }
  try {
    const model = await engines.pick(name);
    return { model, generator: await engines.generator(name), close: () => engines.close() };
  } catch (error) {
    await engines.close();
    throw error;
  }
}
