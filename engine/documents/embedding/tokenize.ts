/**
 * The embedding model's own tokenizer, read from its tokenizer.json by @huggingface/tokenizers (the
 * pure-JS port of the Rust library the model was published with). That library has no truncation, so
 * the special tokens its post-processor adds around a text ([CLS] ... [SEP] for BERT) are found once
 * by encoding a probe, and every text is encoded bare, cut to fit, then wrapped in them: a long chunk
 * keeps its beginning and both markers, as sentence-transformers' right-truncation does.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { ElmwoodError } from "../../errors.ts";

export interface EncodedText {
  ids: number[];
  typeIds: number[];
  /** Whether the text was longer than the model reads (its end was left out). */
  truncated: boolean;
}

export interface EmbeddingTokenizer {
  encode(text: string): EncodedText;
  /** Id of the padding token (0 for BERT). */
  readonly padId: number;
}

export function embeddingTokenizer(
  tokenizerJson: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
  maxTokens: number,
): EmbeddingTokenizer {
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (error) {
    throw new ElmwoodError(
      "MODEL",
      `The embedding model's tokenizer.json cannot be read (${(error as Error).message}).`,
      "Remove the model and download it again.",
      { cause: error },
    );
  }
  const probe = "a";
  const bare = tokenizer.encode(probe, { add_special_tokens: false, return_token_type_ids: true });
  const full = tokenizer.encode(probe, { add_special_tokens: true, return_token_type_ids: true });
  let at = 0;
  while (
    at + bare.ids.length <= full.ids.length &&
    full.ids.slice(at, at + bare.ids.length).join() !== bare.ids.join()
  )
    at++;
  if (at + bare.ids.length > full.ids.length) {
    throw new ElmwoodError("MODEL", "The embedding model's tokenizer adds tokens Elmwood cannot place.");
  }
  const before = { ids: full.ids.slice(0, at), types: full.token_type_ids.slice(0, at) };
  const after = {
    ids: full.ids.slice(at + bare.ids.length),
    types: full.token_type_ids.slice(at + bare.ids.length),
  };
  const room = maxTokens - before.ids.length - after.ids.length;
  if (room < 1) throw new ElmwoodError("MODEL", "The embedding model reads too few tokens to hold any text.");
  const typeOfText = full.token_type_ids[at] ?? 0;
  const padToken = (tokenizerConfig.pad_token as string | undefined) ?? "[PAD]";
  const padId = tokenizer.token_to_id(typeof padToken === "string" ? padToken : "[PAD]") ?? 0;

  return {
    padId,
    encode(text) {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
      const kept = ids.length > room ? ids.slice(0, room) : ids;
      return {
        ids: [...before.ids, ...kept, ...after.ids],
        typeIds: [...before.types, ...kept.map(() => typeOfText), ...after.types],
        truncated: kept.length < ids.length,
      };
    },
  };
}
