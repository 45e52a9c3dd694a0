/**
 * The prompt for the next reply: the branch on screen rendered with the model's chat template, except
 * that every earlier assistant reply is put back as the exact token ids the model generated. Rendering
 * a reply's text again can tokenize it differently from how it was generated, and then the prompt of
 * turn 2 would not extend turn 1's tokens and the engine's prefix cache would miss; reusing the ids
 * makes each prompt start with the previous prompt plus the previous reply.
 *
 * Nothing is ever dropped to make a conversation fit: a prompt that does not fit is refused, saying
 * how many of the oldest messages would have to go.
 */
import { ElmwoodError } from "../errors.ts";
import type { PromptMessage } from "../service/generation.ts";
import type { ChatMessage, ChatTemplate } from "../text/chat-template.ts";
import { fitMessages } from "../text/context-budget.ts";
import type { Tokenizer } from "../text/tokenizer.ts";

export type { PromptMessage };

function startsWith(ids: readonly number[], prefix: readonly number[]): boolean {
  if (prefix.length > ids.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ids[i] !== prefix[i]) return false;
  return true;
}

/**
 * Renders `messages` (which must not end with an assistant message) ready for the reply. The
 * template renders a conversation ending in a reply as a prefix of any longer one, so the part
 * after each reply is the difference of two renders; a reply's own part is the generation prompt
 * before it, its ids, and whatever the template closes a reply with (</s> for OpenELM-Instruct).
 */
export function renderPrompt(
  messages: readonly PromptMessage[],
  template: ChatTemplate,
  tokenizer: Tokenizer,
): number[] {
  const plain = messages.map(({ role, content }) => ({ role, content }));
  const render = (count: number) => (count === 0 ? [] : template.render(plain.slice(0, count), tokenizer));
  const ids: number[] = [];
  let covered = 0; // messages[0..covered) are in `ids`, ending right after a reply
  messages.forEach((message, index) => {
    if (message.role !== "assistant" || !message.tokens?.length || index === 0) return;
    const before = render(covered);
    const opened = render(index); // ends with the assistant opener: the prompt this reply answered
    const closed = template.render([...plain.slice(0, index), { role: "assistant", content: "" }], tokenizer);
    // The template keeps this structure for OpenELM's templates; a template that does not falls
    // back to rendering the reply's text.
    if (!startsWith(opened, before) || !startsWith(closed, opened)) return;
    for (const id of opened.slice(before.length)) ids.push(id);
    for (const id of message.tokens) ids.push(id);
    for (const id of closed.slice(opened.length)) ids.push(id);
    covered = index + 1;
  });
  const before = render(covered);
  const whole = render(messages.length);
  if (!startsWith(whole, before)) return whole;
  for (const id of whole.slice(before.length)) ids.push(id);
  return ids;
}

/**
 * Throws CONTEXT_OVERFLOW when the prompt and a reply of `maxTokens` do not fit the window, saying
 * how many of the oldest messages would have to go (Elmwood never drops them itself). A remote
 * model's sizes are estimates (its engine has its own tokenizer), and the message says so.
 */
export function assertConversationFits(
  messages: readonly ChatMessage[],
  prompt: { tokens: number; estimated: boolean },
  maxTokens: number,
  model: { contextLength: number; count(messages: readonly ChatMessage[]): number },
): void {
  const { contextLength } = model;
  const promptTokens = prompt.tokens;
  if (promptTokens + maxTokens <= contextLength) return;
  const about = prompt.estimated ? "about " : "";
  const sizes = `This conversation is ${about}${promptTokens} tokens${prompt.estimated ? " (estimated)" : ""} and the reply may use up to ${maxTokens} more, but the model's window is ${contextLength} tokens`;
  const fit = fitMessages(messages, (m) => model.count(m), contextLength, maxTokens);
  if (!fit.fits) {
    const last = messages[messages.length - 1];
    const alone = model.count(messages.filter((m, i) => m.role === "system" || i === messages.length - 1));
    throw new ElmwoodError(
      "CONTEXT_OVERFLOW",
      `${sizes}: even the ${last.role === "user" ? "new message" : "last message"} alone (${about}${alone} tokens with the system prompt) does not fit beside the reply.`,
      "Shorten the message or the system prompt, or lower the maximum reply length in the chat settings.",
    );
  }
  const n = fit.dropOldest;
  throw new ElmwoodError(
    "CONTEXT_OVERFLOW",
    `${sizes}: the oldest ${n === 1 ? "message" : `${n} messages`} would have to be left out for it to fit, and Elmwood does not drop messages on its own.`,
    "Start a new chat (paste what matters into it), or lower the maximum reply length in the chat settings.",
  );
}
