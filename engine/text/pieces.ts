/**
 * What a SentencePiece vocabulary piece stands for as bytes. Shared by the tokenizer's decode and the
 * streaming decoder so both turn ids into exactly the same bytes.
 */

/** SentencePiece writes a space as U+2581 inside pieces. */
export const SPACE_MARK = "\u2581";

const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;
const utf8 = new TextEncoder();

/**
 * The bytes of one piece: a byte-fallback piece such as "<0xE4>" is that single raw byte (possibly one part
 * of a multi-byte character), any other piece is its UTF-8 text with each SPACE_MARK as a space.
 */
export function pieceBytes(piece: string): Uint8Array {
  const byte = BYTE_PIECE.exec(piece);
  if (byte) return Uint8Array.of(Number.parseInt(byte[1], 16));
  return utf8.encode(piece.replaceAll(SPACE_MARK, " "));
}

/** Whether a piece begins with the space mark, i.e. carries a word's leading space. */
export function startsWithSpace(piece: string): boolean {
  return piece.startsWith(SPACE_MARK);
}
