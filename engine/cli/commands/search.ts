/**
 * `elmwood search <query>`: the best-matching passages of the indexed folders, with where they are,
 * by words and, once the embedding model is installed and the chunks have vectors, by meaning.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { DocumentKind } from "../../documents/types.ts";
import { ElmwoodError } from "../../errors.ts";
import { type Command, log, printJson } from "../command.ts";
import { numberOption } from "../parse.ts";

const KINDS: DocumentKind[] = ["pdf", "docx", "html", "markdown", "text", "code"];

export const search: Command = {
  name: "search",
  usage:
    "search <query> [--limit N] [--folder DIR]... [--type KIND]... [--after DATE] [--before DATE] [--json]",
  help:
    'Words must all match; "exact phrase" in quotes; word* for a prefix; -word to exclude.\n' +
    `--type: one of ${KINDS.join(", ")}. Dates: YYYY-MM-DD (file modification time).\n` +
    "With the embedding model installed ('elmwood models pull all-minilm-l6-v2'), passages are also found by\n" +
    "meaning; each hit says whether its words, its meaning or both matched.",
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        limit: { type: "string" },
        folder: { type: "string", multiple: true },
        type: { type: "string", multiple: true },
        after: { type: "string" },
        before: { type: "string" },
        json: { type: "boolean" },
      },
    });
    const query = positionals.join(" ").trim();
    if (!query)
      throw new ElmwoodError(
        "BAD_INPUT",
        "Nothing to search for.",
        "Give some words: elmwood search <query>.",
      );
    const limit = numberOption(values.limit, "--limit", 10, { integer: true, min: 1, max: 100 });
    for (const kind of values.type ?? []) {
      if (!KINDS.includes(kind as DocumentKind)) {
        throw new ElmwoodError("BAD_INPUT", `Unknown --type '${kind}'.`, `Use one of: ${KINDS.join(", ")}.`);
      }
    }
    const { openDatabase } = await import("../../store/database.ts");
    const { renderHighlights } = await import("../../documents/search.ts");
    const { hybridSearch } = await import("../../documents/hybrid-search.ts");
    const { MeaningModels } = await import("../../service/meaning.ts");
    const { elmwoodPaths } = await import("../../paths.ts");
    const db = openDatabase();
    const meaning = new MeaningModels({ paths: elmwoodPaths() });
    try {
      const result = await hybridSearch(
        db,
        query,
        {
          limit,
          folders: values.folder?.map((f) => resolve(f)),
          kinds: values.type as DocumentKind[] | undefined,
          modifiedAfter: parseDate(values.after, "--after", false),
          modifiedBefore: parseDate(values.before, "--before", true),
        },
        await meaning.meaningIndex(db),
      );
      const status = await meaning.snapshot(db);
      const hits = result.hits.map(({ text: _text, ...hit }) => hit);
      if (values.json) {
        printJson({
          query,
          mode: result.mode,
          meaning: status,
          hits,
          tookMs: Math.round(result.tookMs * 10) / 10,
        });
        return 0;
      }
      const note = meaningNote(result.mode, status);
      if (note) log(note);
      if (!hits.length) {
        process.stdout.write(`No results for "${query}".\n`);
        return 0;
      }
      const ansi = process.stdout.isTTY === true;
      const out = hits.map(
        (h, i) =>
          `${i + 1}. ${h.path}${h.location ? ` (${h.location})` : ""}  [${h.matched}] score ${h.score.toFixed(2)}\n   ${renderHighlights(h.snippet, h.highlights, ansi)}`,
      );
      process.stdout.write(`${out.join("\n")}\n`);
      return 0;
    } finally {
      await meaning.close();
      db.close();
    }
  },
};

/** One line on stderr when search ran by words only, saying why and what to do. */
export function meaningNote(
  mode: "hybrid" | "words",
  status: { state: string; embedded: number; total: number },
): string | undefined {
  if (status.state === "no-model")
    return "Searching by words only: no embedding model is installed (elmwood models pull all-minilm-l6-v2).";
  if (mode === "words")
    return `Searching by words only: no chunk has a vector yet (run 'elmwood index sync' to make them).`;
  if (status.embedded < status.total)
    return `${status.embedded} of ${status.total} chunks can be found by meaning so far; 'elmwood index sync' makes the rest.`;
  return undefined;
}

/** A calendar date as the start (or, for upper bounds, the end) of that day in local time. */
function parseDate(value: string | undefined, flag: string, endOfDay: boolean): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.getMonth() !== Number(match?.[2]) - 1) {
    throw new ElmwoodError("BAD_INPUT", `${flag} needs a date as YYYY-MM-DD, not '${value}'.`);
  }
  return endOfDay ? date.getTime() + 86_400_000 - 1 : date.getTime();
}
