/**
 * How a conversation becomes the token ids a model family was trained on, in one place.
 *
 * Text is encoded in segments cut at control tokens, each segment as a fresh SentencePiece text (with its
 * dummy prefix), which is what Hugging Face's Llama tokenizers do around special tokens. Because segments
 * never span a control token, rendering a conversation and then the same conversation plus a turn gives
 * ids that start with the first render; the engine's prefix cache depends on that.
 */
import { ElmwoodError } from "../errors.ts";
import type { Tokenizer } from "./tokenizer.ts";

export type ChatRole = "system" | "user" | "assistant";

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatTemplate {
  family: string;
  render(messages: readonly ChatMessage[], tokenizer: Tokenizer): number[];
  /** Text that ends a reply when the model writes it instead of emitting the end-of-sequence id. */
  stopStrings: string[];
}

const ROLES: readonly string[] = ["system", "user", "assistant"];

/** "openelm-instruct" for any *Instruct* model name, otherwise "openelm-base". */
export function chatTemplateFor(modelName: string): ChatTemplate {
  return /instruct/i.test(modelName) ? openElmInstruct() : openElmBase();
}

/**
 * Zephyr style, as OpenELM-Instruct was tuned: `<s><|system|>\n…</s>\n<|user|>\n…</s>\n<|assistant|>\n…</s>`,
 * role markers as plain text, <s> and </s> as control ids. A conversation that does not end with the
 * assistant is opened with "<|assistant|>\n" for the model to continue.
 */
function openElmInstruct(): ChatTemplate {
  return {
    family: "openelm-instruct",
    stopStrings: ["</s>", "<|user|>", "<|system|>", "<|assistant|>"],
    render(messages, tokenizer) {
      checkMessages(messages);
      const ids = [tokenizer.bosId];
      let separator = "";
      for (const message of messages) {
        appendAll(ids, tokenizer.encode(`${separator}<|${message.role}|>\n${message.content}`));
        ids.push(tokenizer.eosId);
        separator = "\n";
      }
      if (messages[messages.length - 1].role !== "assistant") {
        appendAll(ids, tokenizer.encode(`${separator}<|assistant|>\n`));
      }
      return ids;
    },
  };
}

/**
 * A base model only continues text: <s> and the messages' contents exactly as written, joined with nothing
 * (an assistant message is the continuation of the text before it). Each message is its own segment, with
 * the dummy prefix only on the first text, so a longer conversation still starts with a shorter one's ids.
 */
function openElmBase(): ChatTemplate {
  return {
    family: "openelm-base",
    stopStrings: [],
    render(messages, tokenizer) {
      checkMessages(messages);
      const ids = [tokenizer.bosId];
      for (const message of messages) {
        if (message.content === "") continue;
        // Later segments continue the text, so they get no dummy-prefix space.
        appendAll(ids, tokenizer.encode(message.content, { dummyPrefix: ids.length === 1 }));
      }
      return ids;
    },
  };
}

function checkMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new ElmwoodError("BAD_INPUT", "There are no messages to send.", "Write a message first.");
  }
  messages.forEach((message, index) => {
    if (!ROLES.includes(message?.role)) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `Message ${index + 1} has an unknown role '${String(message?.role)}'.`,
        `Use one of: ${ROLES.join(", ")}.`,
      );
    }
    if (typeof message.content !== "string") {
      throw new ElmwoodError("BAD_INPUT", `Message ${index + 1} has no text content.`, "Give it a string.");
    }
  });
}

function appendAll(target: number[], source: readonly number[]): void {
  for (const id of source) target.push(id);
}
