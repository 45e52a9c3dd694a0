import { describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { IncrementalDecoder } from "../../engine/text/incremental-decoder.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";

const tokenizer = llamaTokenizer();

function stream(ids: readonly number[], context?: readonly number[]): string[] {
  const decoder = new IncrementalDecoder(tokenizer, { context });
  const chunks = ids.map((id) => decoder.push(id));
  chunks.push(decoder.flush());
  return chunks;
}

/** A small deterministic generator, so a failing random sequence can be reproduced. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const texts = [
  "Hello world",
  "  two leading spaces, then words",
  "Llamas 🦙🦙 and 👩‍👩‍👧‍👦 families",
  "镇日本語のテキスト，中文字符。",
  "Ꙋ𝔘𝔫𝔦𝔠𝔬𝔡𝔢 byte fallback",
  "line\n\tindented\r\n   spaced   end ",
];

describe("IncrementalDecoder", () => {
  it.each(texts)("streams the same text a full decode gives, with no broken characters: %s", (text) => {
    const ids = tokenizer.encode(text);
    const chunks = stream(ids);
    expect(chunks.join("")).toBe(tokenizer.decode(ids));
    expect(chunks.join("")).toBe(text);
    expect(chunks.filter((chunk) => chunk.includes("\uFFFD"))).toEqual([]);
  });

  it("holds back the bytes of a character until its last byte arrives", () => {
    const ids = tokenizer.encode("🦙").slice(1);
    expect(stream(ids)).toEqual(["", "", "", "🦙", ""]);
  });

  it("keeps each word's leading space and drops only the first piece's dummy prefix", () => {
    expect(stream(tokenizer.encode("Hello world"))).toEqual(["Hello", " world", ""]);
  });

  it("keeps the first piece's space when the stream continues a prompt", () => {
    const prompt = tokenizer.encode("Once upon a", { bos: true });
    const reply = tokenizer.encode(" time", { dummyPrefix: false });
    expect(stream(reply, prompt).join("")).toBe(" time");
    expect(stream(reply).join("")).toBe("time");
  });

  it("skips control tokens", () => {
    expect(stream([1, 15043, 2, 3186]).join("")).toBe("Hello world");
  });

  it("matches a full decode for random sequences, invalid UTF-8 included", () => {
    const random = seeded(7);
    const bytePieces = Array.from({ length: 256 }, (_, byte) => 3 + byte);
    const ordinary = [15043, 3186, 29871, 259, 13, 30411, 2646, 1327, 287, 0, 1, 2];
    const lead = (n: number) => bytePieces[[0xc3, 0xe4, 0xf0][n]];
    for (let run = 0; run < 300; run++) {
      const ids: number[] = [];
      const length = 1 + Math.floor(random() * 12);
      for (let i = 0; i < length; i++) {
        const choice = random();
        if (choice < 0.35) ids.push(ordinary[Math.floor(random() * ordinary.length)]);
        else if (choice < 0.6) ids.push(lead(Math.floor(random() * 3)));
        else if (choice < 0.9) ids.push(bytePieces[0x80 + Math.floor(random() * 64)]);
        else ids.push(bytePieces[Math.floor(random() * 256)]);
      }
      const full = tokenizer.decode(ids);
      expect(stream(ids).join(""), `ids ${ids.join(",")}`).toBe(full);
    }
  });

  it("reports an unfinished character at the end as U+FFFD, as a full decode does", () => {
    const ids = tokenizer.encode("🦙").slice(1, 3);
    expect(stream(ids)).toEqual(["", "", "\uFFFD"]);
    expect(tokenizer.decode(ids)).toBe("\uFFFD");
  });

  it("rejects an id outside the vocabulary with BAD_INPUT", () => {
    const decoder = new IncrementalDecoder(tokenizer);
    expect(() => decoder.push(32000)).toThrow(ElmwoodError);
    expect(() => decoder.push(32000)).toThrow("32000");
  });
});
