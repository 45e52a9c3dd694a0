/** Text with the engine's [start, end) match ranges drawn as <mark>: search snippets and titles. */
import { snippetPieces } from "../search/highlight-snippet.ts";

export function Highlighted({
  text,
  ranges,
}: {
  text: string;
  ranges: readonly (readonly [number, number])[];
}) {
  return (
    <>
      {snippetPieces(text, ranges).map((piece, i) =>
        // biome-ignore lint/suspicious/noArrayIndexKey: pieces are positional and never reordered
        piece.match ? <mark key={i}>{piece.text}</mark> : <span key={i}>{piece.text}</span>,
      )}
    </>
  );
}
