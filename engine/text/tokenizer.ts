/**
 * The Llama-2 SentencePiece tokenizer that OpenELM uses (32000 pieces; <unk> 0, <s> 1, </s> 2), wrapped
 * around llama-tokenizer-js, which reproduces SentencePiece's BPE merges from Hugging Face's tokenizer.json.
 *
 * Control ids never come out of encode: the package maps text character by character and only merges into
 * ordinary pieces, so text that spells "<s>" or "</s>" stays text. Only our own code (chat templates,
 * encode's `bos`) inserts control ids.
 */
import llama from "llama-tokenizer-js";
import { ElmwoodError } from "../errors.ts";
import { pieceBytes, startsWithSpace } from "./pieces.ts";

export interface EncodeOptions {
  bos?: boolean;
  dummyPrefix?: boolean;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  /**
   * SentencePiece with its dummy prefix space; `bos` (default false) puts the <s> id first. `dummyPrefix:
   * false` (default true) encodes text that continues other text, e.g. the next part of a document.
   */
  encode(text: string, options?: EncodeOptions): number[];
  /** The text of the ids, control tokens skipped; the first piece's dummy-prefix space is dropped. */
  decode(ids: readonly number[]): string;
  /** The raw vocabulary piece, e.g. "▁Hello" or "<0x0A>". */
  pieceOf(id: number): string;
}

/**
 * Where a long text may be cut and each part encoded on its own with the same result: before a space that
 * follows another character (no Llama piece holds the space mark after another character, so no merge
 * crosses it), and after a newline (a byte-fallback token, which never merges).
 */
const SAFE_CUT = /(?<=[^ ]) |(?<=\n)/g;
/** The package's merge queue grows with its input; parts of about this many characters encode faster. */
const PART_CHARS = 1024;

class LlamaSentencePiece implements Tokenizer {
  readonly vocabSize = 32000;
  readonly unkId = 0;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly #bytes: Uint8Array[] = [];
  readonly #utf8 = new TextDecoder("utf-8");

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") {
      throw new ElmwoodError(
        "BAD_INPUT",
        `Only text can be tokenized, not ${typeof text}.`,
        "Pass a string.",
      );
    }
    const ids = options.bos ? [this.bosId] : [];
    const dummyPrefix = options.dummyPrefix ?? true;
    let start = 0;
    for (const cut of text.matchAll(SAFE_CUT)) {
      if (cut.index - start < PART_CHARS) continue;
      appendAll(ids, llama.encode(text.slice(start, cut.index), false, start === 0 && dummyPrefix));
      start = cut.index;
    }
    appendAll(ids, llama.encode(text.slice(start), false, start === 0 && dummyPrefix));
    return ids;
  }

  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      const piece = this.pieceOf(id);
      if (this.#isControl(id)) continue;
      let bytes = this.#bytesOf(id, piece);
      // SentencePiece removes the space it prefixed when encoding, from the first piece only.
      if (parts.length === 0 && startsWithSpace(piece)) bytes = bytes.subarray(1);
      parts.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    return this.#utf8.decode(all);
  }

  pieceOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `Token id ${String(id)} is not in the vocabulary (ids run from 0 to ${this.vocabSize - 1}).`,
        "Pass token ids that this tokenizer produced.",
      );
    }
    return llama.vocabById[id];
  }

  #isControl(id: number): boolean {
    return id === this.unkId || id === this.bosId || id === this.eosId;
  }

  #bytesOf(id: number, piece: string): Uint8Array {
    let bytes = this.#bytes[id];
    if (!bytes) {
      bytes = pieceBytes(piece);
      this.#bytes[id] = bytes;
    }
    return bytes;
  }
}

/** Pushes one by one: spreading a long document's ids into push() would overflow the call stack. */
function appendAll(target: number[], source: readonly number[]): void {
  for (const id of source) target.push(id);
}

let shared: Tokenizer | undefined;

/** The one Llama tokenizer, built on first use (the vocabulary itself loads with this module, ~50 ms). */
export function llamaTokenizer(): Tokenizer {
  shared ??= new LlamaSentencePiece();
  return shared;
}
