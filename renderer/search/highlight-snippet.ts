/** A snippet cut into plain and matched pieces, from the engine's [start, end) highlight ranges. */
export interface SnippetPiece {
  text: string;
  match: boolean;
}

export function snippetPieces(
  snippet: string,
  highlights: readonly (readonly [number, number])[],
): SnippetPiece[] {
  const ranges = [...highlights]
    .map(([start, end]) => [Math.max(0, start), Math.min(snippet.length, end)] as const)
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  const pieces: SnippetPiece[] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    const from = Math.max(start, at);
    if (from > at) pieces.push({ text: snippet.slice(at, from), match: false });
    pieces.push({ text: snippet.slice(from, end), match: true });
    at = end;
  }
  if (at < snippet.length) pieces.push({ text: snippet.slice(at), match: false });
  return pieces;
}
