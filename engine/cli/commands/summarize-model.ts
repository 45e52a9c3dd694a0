/**
 * The language model behind `elmwood summarize`: see completion-model.ts. The host is closed when the
 * command ends, so the worker does not keep the process alive.
 */
import type { Command } from "../command.ts";
import { closeCompletions, loadCompletion } from "../completion-model.ts";
import { summarizeCommand } from "./summarize.ts";

const command = summarizeCommand(loadCompletion);

export const summarize: Command = {
  ...command,
  async run(args) {
    try {
      return await command.run(args);
    } finally {
      await closeCompletions();
    }
  },
};
