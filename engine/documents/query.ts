/**
 * Turns what a person types into a safe FTS5 query: words (all must match), "quoted phrases",
 * prefixes (`index*`), exclusions (`-draft`). Every term is quoted, so FTS5's own syntax characters
 * in the input can never make the query fail; while typing, the last word also matches as a prefix.
 */

/** One term as FTS5 matches it: its tokens in a row (a phrase when more than one), the last as a prefix. */
export interface QueryTerm {
  tokens: string[];
  prefix: boolean;
}

export interface ParsedQuery {
  /** The FTS5 MATCH expression; undefined when the input has nothing to search for. */
  match?: string;
  /** The words and phrases searched for, for highlighting and for showing what was understood. */
  terms: string[];
  /** The FTS5 expression of the excluded words (-word), matched by chunks that must not be hits. */
  exclude?: string;
  /** Whether every included term is a "quoted phrase": the person wants those exact words. */
  exact?: boolean;
  /** The same query as terms, for matching a passage's text outside FTS5 (text-match.ts). */
  included: QueryTerm[];
  excluded: QueryTerm[];
}

const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;

export function parseQuery(input: string, options: { asYouType?: boolean } = {}): ParsedQuery {
  const include: string[] = [];
  const exclude: string[] = [];
  const terms: string[] = [];
  const included: QueryTerm[] = [];
  const excluded: QueryTerm[] = [];
  let phrases = 0;
  const parts = [...input.matchAll(/(-?)"([^"]*)("?)|(\S+)/g)];
  parts.forEach((part, i) => {
    const isLast = i === parts.length - 1;
    if (part[2] !== undefined) {
      const tokens = part[2].match(TOKEN) ?? [];
      if (!tokens.length) return;
      const phrase = quote(tokens.join(" "));
      (part[1] ? exclude : include).push(phrase);
      (part[1] ? excluded : included).push({ tokens, prefix: false });
      if (!part[1]) {
        terms.push(tokens.join(" "));
        phrases++;
      }
      return;
    }
    let word = part[4];
    const negative = word.startsWith("-") && word.length > 1;
    if (negative) word = word.slice(1);
    const explicitPrefix = word.endsWith("*");
    const tokens = word.match(TOKEN) ?? [];
    if (!tokens.length) return;
    const typing = options.asYouType && isLast && !/\s$/.test(input) && !negative;
    const lastToken = tokens[tokens.length - 1];
    // A one-letter prefix matches most of the index; it is only worth it once a second letter is typed.
    const prefix = explicitPrefix || (typing && lastToken.length >= 2);
    const expression = quote(tokens.join(" ")) + (prefix ? "*" : "");
    (negative ? exclude : include).push(expression);
    (negative ? excluded : included).push({ tokens, prefix: Boolean(prefix) });
    if (!negative) terms.push(tokens.join(" "));
  });
  if (!include.length) return { terms, included, excluded };
  const without = exclude.length ? exclude.join(" OR ") : undefined;
  const match = without ? `(${include.join(" ")}) NOT (${without})` : include.join(" ");
  return { match, terms, exclude: without, exact: phrases === include.length, included, excluded };
}

function quote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}
