/**
 * The documents code's Completion (engine/documents/completion.ts) over a loaded model: prompts are
 * rendered with the model's chat template, replies are greedy with OpenELM's repetition penalty, so
 * a summary or an answer is the same every time for the same document.
 */

import type { ReplyGenerator } from "../chat/chat-engine.ts";
import { cutShort } from "../chat/interruption.ts";
import type { Completion } from "../documents/completion.ts";
import { cancelled } from "../errors.ts";
import { GREEDY, type SamplingOptions } from "../runtime/sampler.ts";
import type { ChatMessage, ChatTemplate } from "../text/chat-template.ts";
import { llamaTokenizer, type Tokenizer } from "../text/tokenizer.ts";

export const DOCUMENT_SAMPLING: SamplingOptions = { ...GREEDY, repetitionPenalty: 1.2 };

export interface CompletionModel {
  /** The loaded model (a ModelHost) or a stand-in. */
  host: ReplyGenerator;
  template: ChatTemplate;
  contextLength: number;
}

export function createCompletion(
  model: CompletionModel,
  options: { tokenizer?: Tokenizer; sampling?: SamplingOptions } = {},
): Completion {
  const tokenizer = options.tokenizer ?? llamaTokenizer();
  const sampling = options.sampling ?? DOCUMENT_SAMPLING;
  const render = (messages: ChatMessage[]) => model.template.render(messages, tokenizer);
  return {
    contextLength: model.contextLength,
    countTokens: (messages) => render(messages).length,
    async complete(messages, { maxNewTokens, signal, onText }) {
      const result = await model.host.generate(
        { prompt: render(messages), maxNewTokens, sampling, stopStrings: model.template.stopStrings },
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
