/**
 * The language model of a one-off command that answers in words (summarize, ask): a store name or
 * folder (the default model when none is given), loaded in its worker thread, or a remote engine's
 * model, wrapped as the documents code's Completion. `closeCompletions` ends the workers and closes
 * the connections so they do not keep the process alive.
 */
import { basename } from "node:path";
import type { Completion } from "../documents/completion.ts";
import { ModelHost } from "../runtime/model-host.ts";
import { createCompletion } from "../service/completion.ts";
import { localBackend, localPromptModel } from "../service/local-model.ts";
import { chatTemplateFor } from "../text/chat-template.ts";
import { llamaTokenizer } from "../text/tokenizer.ts";
import { log } from "./command.ts";
import { type ModelArgs, resolveModelArg } from "./model-arg.ts";
import { remoteModelArg } from "./remote-model.ts";

const closers: (() => Promise<void>)[] = [];

export async function loadCompletion({ model, provider, threads }: ModelArgs): Promise<Completion> {
  const remote = await remoteModelArg(model);
  if (remote) {
    closers.push(remote.close);
    log(`model ${remote.model.name}: the text is sent to ${remote.model.remote?.host}`);
    return createCompletion(remote.model, remote.generator);
  }
  const { dir } = await resolveModelArg(model);
  const host = await ModelHost.start(dir, { provider, threads });
  closers.push(() => host.close());
  const { manifest } = host.info;
  const prompts = localPromptModel(
    {
      name: manifest.name,
      contextLength: manifest.contextLength,
      template: chatTemplateFor(
        [manifest.name, manifest.source.repoId ?? "", basename(manifest.source.path)].join(" "),
      ),
    },
    llamaTokenizer(),
  );
  return createCompletion(prompts, localBackend(host));
}

export async function closeCompletions(): Promise<void> {
  await Promise.all(closers.splice(0).map((close) => close()));
}
