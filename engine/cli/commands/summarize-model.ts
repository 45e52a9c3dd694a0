/**
 * The language model behind `elmwood summarize`: a store name or folder (the default model when none
 * is given), loaded in its worker thread, wrapped as the documents code's Completion. The host is
 * closed when the command ends, so the worker does not keep the process alive.
 */
import { basename } from "node:path";
import type { Completion } from "../../documents/completion.ts";
import { ModelHost } from "../../runtime/model-host.ts";
import { createCompletion } from "../../service/completion.ts";
import { chatTemplateFor } from "../../text/chat-template.ts";
import type { Command } from "../command.ts";
import { type ModelArgs, resolveModelArg } from "../model-arg.ts";
import { summarizeCommand } from "./summarize.ts";

const hosts: ModelHost[] = [];

async function loadCompletion({ model, provider, threads }: ModelArgs): Promise<Completion> {
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

const command = summarizeCommand(loadCompletion);

export const summarize: Command = {
  ...command,
  async run(args) {
    try {
      return await command.run(args);
    } finally {
      await Promise.all(hosts.splice(0).map((h) => h.close()));
    }
  },
};
