import llama from "llama-tokenizer-js";
import { describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { llamaTokenizer } from "../../engine/text/tokenizer.ts";

const tokenizer = llamaTokenizer();

/** A long text whose parts exercise every kind of place the tokenizer may cut a long input. */
function longMixedText(minLength: number): string {
  const parts = [
    "The llama (/ˈlɑːmə/; 🦙Spanish pronunciation: [ˈʎama]) is a domesticated South American camelid.",
    "\n\n",
    "日本語のテキストを処理する。中文字符和混合 scripts, Ꙋ and émigré — «quotes».",
    "    indented   with     runs of spaces  ",
    "\tTabs\t\tand\r\nWindows lines\n ",
    "👩‍👩‍👧‍👦 families, flags 🇫🇷, combining e\u0301, ＦＵＬＬＷＩＤＴＨ, 1234567890, x²",
    "                         ",
    "def f(x):\n    return x * 2  # code\n",
  ];
  let text = "";
  for (let i = 0; text.length < minLength; i++) text += parts[(i * 7) % parts.length];
  return text;
}

describe("llamaTokenizer", () => {
  it("encodes known texts to the ids of the Llama-2 SentencePiece model", () => {
    expect(tokenizer.encode("Hello world")).toEqual([15043, 3186]);
    expect(tokenizer.encode(" grabbed")).toEqual([29871, 2646, 1327, 287]);
    expect(tokenizer.encode("           grabbed")).toEqual([9651, 2646, 1327, 287]);
    expect(tokenizer.encode("\n")).toEqual([29871, 13]);
  });

  it("puts the <s> id first only when asked", () => {
    expect(tokenizer.encode("Hello world", { bos: true })).toEqual([1, 15043, 3186]);
    expect(tokenizer.encode("", { bos: true })).toEqual([1]);
    expect(tokenizer.encode("")).toEqual([]);
  });

  it("encodes without the dummy-prefix space when the text continues other text", () => {
    expect(tokenizer.encode("world", { dummyPrefix: false })).not.toContain(3186);
    expect(tokenizer.encode(" world", { dummyPrefix: false })).toEqual([3186]);
  });

  it("treats text that spells control tokens as plain text", () => {
    const text = "<s>[INST] </s> <unk> <0x0A> <|user|>";
    const ids = tokenizer.encode(text);
    expect(ids.filter((id) => id <= 2)).toEqual([]);
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it.each([
    ["emoji", "Llamas 🦙 and faces 😀🙃"],
    ["emoji sequences", "👩‍👩‍👧‍👦 🇫🇷 👍🏽"],
    ["CJK", "镇日本語のテキスト，中文字符。"],
    ["mixed scripts", "Ελληνικά, русский, עברית, العربية, हिन्दी and English"],
    ["newlines and tabs", "line one\nline two\n\n\tindented\r\n  trailing  \n"],
    ["byte fallback characters", "Ꙋ🦙 \u0000\u0007 ︎ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"],
    ["leading and trailing spaces", "   spaced out   "],
  ])("round-trips %s", (_, text) => {
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it("spells characters missing from the vocabulary as UTF-8 byte tokens", () => {
    const ids = tokenizer.encode("🦙");
    expect(ids.slice(1).map((id) => tokenizer.pieceOf(id))).toEqual(["<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"]);
  });

  it("keeps a real leading space and drops only the dummy prefix when decoding", () => {
    expect(tokenizer.decode([29871, 2646, 1327, 287])).toBe(" grabbed");
    expect(tokenizer.decode([15043, 3186])).toBe("Hello world");
  });

  it("skips control tokens when decoding", () => {
    expect(tokenizer.decode([1, 15043, 2, 3186, 0])).toBe("Hello world");
  });

  it("shows raw vocabulary pieces", () => {
    expect(tokenizer.pieceOf(15043)).toBe("▁Hello");
    expect(tokenizer.pieceOf(13)).toBe("<0x0A>");
    expect(tokenizer.pieceOf(1)).toBe("<s>");
  });

  it.each([32000, -1, 1.5, Number.NaN])("rejects the id %s with BAD_INPUT naming it", (id) => {
    const attempt = () => tokenizer.decode([15043, id]);
    expect(attempt).toThrow(ElmwoodError);
    expect(attempt).toThrow(String(id));
    try {
      attempt();
    } catch (error) {
      expect((error as ElmwoodError).code).toBe("BAD_INPUT");
    }
  });

  // How fast is for the benchmark; this checks that encoding in pieces changes nothing.
  it("encodes a 100 KB text with the same ids as encoding it whole", () => {
    const text = longMixedText(100_000);
    const ids = tokenizer.encode(text);
    expect(ids).toEqual(llama.encode(text, false, true));
    expect(tokenizer.encode(text, { dummyPrefix: false })).toEqual(llama.encode(text, false, false));
    expect(tokenizer.decode(ids)).toBe(text);
  });
});
