/**
 * Streaming detokenization for generated replies. SentencePiece decoding is concatenation of each piece's
 * bytes, except that the very first piece of a text loses its dummy-prefix space; so working on bytes and
 * keeping only two facts about what came before (has text started, which UTF-8 bytes are still unfinished)
 * gives exactly the text a full decode would, chunk by chunk.
 */

import { pieceBytes, startsWithSpace } from "./pieces.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface IncrementalDecoderOptions {
  /**
   * Ids that precede the stream, e.g. the prompt a base model continues: its first generated piece then
   * keeps its leading space ("Once upon a" + "▁time" gives " time"). Without context the stream is a text of
   * its own and, like a full decode, drops the first piece's dummy-prefix space.
   */
  context?: readonly number[];
}

export class IncrementalDecoder {
  readonly #tokenizer: Tokenizer;
  // Stream mode holds back the bytes of a character that is not complete yet and reports truly invalid
  // sequences as U+FFFD as soon as they are known to be invalid, just as a one-shot decode would.
  #utf8 = new TextDecoder("utf-8");
  #textStarted = false;

  constructor(tokenizer: Tokenizer, options: IncrementalDecoderOptions = {}) {
    this.#tokenizer = tokenizer;
    for (const id of options.context ?? []) this.push(id);
  }

  /** Takes the next generated id and returns the text that is now final (often "", never half a character). */
  push(id: number): string {
    const piece = this.#tokenizer.pieceOf(id);
    if (this.#isControl(id)) return "";
    let bytes = pieceBytes(piece);
    if (!this.#textStarted) {
      this.#textStarted = true;
      if (startsWithSpace(piece)) bytes = bytes.subarray(1);
    }
    return this.#utf8.decode(bytes, { stream: true });
  }

  /** Ends the stream: whatever bytes are left unfinished come out as U+FFFD, as a full decode shows them. */
  flush(): string {
    return this.#utf8.decode();
  }

  #isControl(id: number): boolean {
    const t = this.#tokenizer;
    return id === t.unkId || id === t.bosId || id === t.eosId;
  }
}
