/** Token counting with OpenELM's real tokenizer, for chunk sizes that match what the model will see. */
import { llamaTokenizer } from "../text/tokenizer.ts";
import type { CountTokens } from "./types.ts";

export function llamaTokenCounter(): CountTokens {
  const tokenizer = llamaTokenizer();
  return (text) => tokenizer.encode(text).length;
}
