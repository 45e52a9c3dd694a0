/**
 * A grounded reply cites its passages as [1], [2][3] or [1, 2]. Each number of a passage the reply
 * was given becomes a link to that passage under the reply; numbers it was not given stay text, and
 * so does anything inside code.
 */
export function sourceAnchor(messageId: string, n: number): string {
  return `source-${messageId}-${n}`;
}

export function linkCitations(text: string, messageId: string, count: number): string {
  if (count === 0) return text;
  // Odd pieces are fenced code blocks.
  return text
    .split(/(```[\s\S]*?(?:```|$))/)
    .map((piece, i) =>
      i % 2 === 1
        ? piece
        : piece.replace(/\[(\d+(?:\s*,\s*\d+)*)\](?!\()/g, (whole, list: string) => {
            const numbers = list.split(/\s*,\s*/).map(Number);
            if (!numbers.every((n) => n >= 1 && n <= count)) return whole;
            return numbers.map((n) => `[\\[${n}\\]](#${sourceAnchor(messageId, n)})`).join(" ");
          }),
    )
    .join("");
}
