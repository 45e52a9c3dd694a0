/**
 * Turns a text file's bytes into a string with the right encoding: byte-order marks first, then strict
 * UTF-8, then UTF-16 by its NUL pattern, then a statistical guess (chardet) for legacy 8-bit files such
 * as Latin-1. Decoding itself uses TextDecoder, which knows every WHATWG encoding with full ICU.
 */
import { detect } from "chardet";

export interface DecodedText {
  text: string;
  /** WHATWG encoding label the bytes were read with, e.g. "utf-8", "utf-16le", "windows-1252". */
  encoding: string;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function decodeText(bytes: Uint8Array): DecodedText {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { text: new TextDecoder("utf-8").decode(bytes), encoding: "utf-8" };
  }
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return { text: new TextDecoder("utf-16le").decode(bytes), encoding: "utf-16le" };
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    return { text: new TextDecoder("utf-16be").decode(bytes), encoding: "utf-16be" };
  }
  const utf16 = utf16ByNulPattern(bytes);
  if (utf16) return { text: new TextDecoder(utf16).decode(bytes), encoding: utf16 };
  try {
    return { text: strictUtf8.decode(bytes), encoding: "utf-8" };
  } catch {
    // Not UTF-8: fall through to a guess among legacy encodings.
  }
  const encoding = legacyEncoding(bytes);
  return { text: new TextDecoder(encoding).decode(bytes), encoding };
}

/** UTF-16 without a BOM: Latin-script text has a NUL in the high byte of nearly every pair. */
export function utf16ByNulPattern(bytes: Uint8Array): "utf-16le" | "utf-16be" | undefined {
  const n = Math.min(bytes.length, 8192) & ~1;
  if (n < 4) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenNul++;
    if (bytes[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul > pairs * 0.4 && evenNul < pairs * 0.02) return "utf-16le";
  if (evenNul > pairs * 0.4 && oddNul < pairs * 0.02) return "utf-16be";
  return undefined;
}

/** chardet's guess mapped to a label TextDecoder accepts; windows-1252 (a superset of Latin-1) otherwise. */
function legacyEncoding(bytes: Uint8Array): string {
  const guess = detect(bytes.subarray(0, 65536))?.toLowerCase();
  if (guess && guess !== "utf-8" && guess !== "ascii") {
    // ISO-8859-1 text is decoded as windows-1252 by the WHATWG standard anyway; the label is kept honest.
    const label = guess === "iso-8859-1" ? "windows-1252" : guess;
    try {
      new TextDecoder(label);
      return label;
    } catch {
      // An encoding TextDecoder does not know: use the common default below.
    }
  }
  return "windows-1252";
}
