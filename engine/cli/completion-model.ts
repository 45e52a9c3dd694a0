/**
 * The language model of a one-off command that answers in words (summarize, ask): a store name or
 * folder (the default model when none is given), loaded in its worker thread, wrapped as the
 * documents code's Completion. `closeCompletions` ends the workers so they do not keep the process alive.
 */
import { basename } from "node:path";
import type { Completion } from "../documents/completion.ts";
import { ModelHost } from "../runtime/model-host.ts";
import { createCompletion } from "../service/completion.ts";
import { chatTemplateFor } from "../text/chat-template.ts";
import { type ModelArgs, resolveModelArg } from "./model-arg.ts";

const hosts: ModelHost[] = [];

export async function loadCompletion({ model, provider, threads }: ModelArgs): Promise<Completion> {
  const { dir } = await resolveModelArg(model);
  const host = await ModelHost.start(dir, { provider, threads });
  hosts.push(host);
  const { manifest } = host.info;
  return createCompletion({
    host,
    template: chatTemplateFor(
      [manifest.name, manifest.source.repoId ?? "", basename(manifest.source.path)].join(" "),
    ),
    contextLength: manifest.contextLength,
  });
}

export async function closeCompletions(): Promise<void> {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
}
