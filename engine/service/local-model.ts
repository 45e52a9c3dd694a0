/**
 * Elmwood's own models behind the service's generation interface: prompts become token ids with the
 * model's chat template (earlier replies put back as the ids they were generated as, so the prefix
 * cache extends turn after turn), and a ModelHost's results become the service's.
 */

import { renderPrompt } from "../chat/prompt.ts";
import { ElmwoodError } from "../errors.ts";
import type { ChatTemplate } from "../text/chat-template.ts";
import type { Tokenizer } from "../text/tokenizer.ts";
import type { GenerationBackend, PromptModel, TokenHost } from "./generation.ts";

export function localPromptModel(
  model: { name: string; contextLength: number; template: ChatTemplate },
  tokenizer: Tokenizer,
): PromptModel {
  const { template } = model;
  return {
    name: model.name,
    contextLength: model.contextLength,
    family: template.family,
    remote: null,
    prepare(messages) {
      const ids = renderPrompt(messages, template, tokenizer);
      return {
        prompt: { kind: "tokens", ids },
        tokens: ids.length,
        estimated: false,
        stopStrings: template.stopStrings,
      };
    },
    prepareText(text) {
      // A raw prompt gets BOS and is continued as written, whatever the chat template.
      const ids = tokenizer.encode(text, { bos: true });
      return {
        prompt: { kind: "tokens", ids, continues: ids },
        tokens: ids.length,
        estimated: false,
        stopStrings: [],
      };
    },
    count: (messages) => template.render(messages, tokenizer).length,
  };
}

/** A ModelHost (or anything shaped like one) as a GenerationBackend. */
export function localBackend(host: TokenHost): GenerationBackend {
  return {
    get running() {
      return host.running;
    },
    get waiting() {
      return host.waiting;
    },
    close: () => host.close(),
    async prefill(prompt) {
      if (prompt.kind !== "tokens" || !host.prefill) return null;
      return (await host.prefill([...prompt.ids]))?.computed ?? null;
    },
    async generate(request, callbacks = {}) {
      const { prompt } = request;
      if (prompt.kind !== "tokens") {
        throw new ElmwoodError("INTERNAL", `Elmwood's own models take token ids, not ${prompt.kind}.`);
      }
      const result = await host.generate(
        {
          prompt: prompt.ids,
          maxNewTokens: request.maxNewTokens,
          sampling: request.sampling,
          stopStrings: request.stopStrings,
          ...(prompt.continues ? { continues: prompt.continues } : {}),
        },
        callbacks,
      );
      const { timings } = result;
      return {
        text: result.text,
        tokens: result.tokens,
        finishReason: result.finishReason,
        promptTokens: timings.promptTokens,
        completionTokens: result.tokens.length,
        reusedTokens: timings.reusedTokens,
        estimated: false,
        firstTokenMs: timings.firstTokenMs,
        tokensPerSecond: timings.decodeTokensPerSecond,
      };
    },
  };
}
