/**
 * The documents code's Completion (engine/documents/completion.ts) over a model that writes through
 * the service's generation interface, Elmwood's own or a remote engine's: replies are greedy (with
 * OpenELM's repetition penalty where the model is ours), so a summary or an answer is the same every
 * time for the same document.
 */

import { cutShort } from "../chat/interruption.ts";
import type { Completion } from "../documents/completion.ts";
import { cancelled } from "../errors.ts";
import { GREEDY, type SamplingOptions } from "../runtime/sampler.ts";
import type { Generator, PromptModel } from "./generation.ts";

export const DOCUMENT_SAMPLING: SamplingOptions = { ...GREEDY, repetitionPenalty: 1.2 };

export function createCompletion(
  model: PromptModel,
  generator: Generator,
  options: { sampling?: SamplingOptions } = {},
): Completion {
  const sampling = options.sampling ?? DOCUMENT_SAMPLING;
  return {
    contextLength: model.contextLength,
    countTokens: (messages) => model.count(messages),
    async complete(messages, { maxNewTokens, signal, onText }) {
      const prepared = model.prepare(messages);
      const result = await generator.generate(
        { prompt: prepared.prompt, maxNewTokens, sampling, stopStrings: prepared.stopStrings },
        { signal, onToken: onText ? (token) => token.text && onText(token.text) : undefined },
      );
      // A stopped summary must not be mistaken for a short one.
      if (result.finishReason === "cancelled") {
        throw result.interruption ? cutShort(result.interruption, "answer") : cancelled("The request");
      }
      return result.text;
    },
  };
}
