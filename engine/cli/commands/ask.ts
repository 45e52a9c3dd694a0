/**
 * `elmwood ask <question> [--folder DIR]...`: an answer from the passages of your documents that
 * best match the question (by meaning and by words), citing them as [1], [2]. A folder not indexed
 * yet is indexed first, vectors included when the embedding model is installed. The answer streams
 * to stdout, then the passages it cites; --json prints one object with the answer and every passage
 * it was given (path, location, snippet, and whether the answer cites it).
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ElmwoodError } from "../../errors.ts";
import { type Command, log, printJson } from "../command.ts";
import { closeCompletions, loadCompletion } from "../completion-model.ts";
import { MODEL_OPTIONS, parseModelArgs } from "../model-arg.ts";
import { numberOption } from "../parse.ts";

export const ask: Command = {
  name: "ask",
  usage:
    "ask <question> [--folder DIR]... [--limit N] [--model NAME|DIR] [--provider P] [--threads N] [--json]",
  help:
    "Answers from your indexed documents (or only from --folder, indexed first if it is not), citing the\n" +
    "passages it used as [n]. Ctrl-C stops.",
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        folder: { type: "string", multiple: true },
        limit: { type: "string" },
        json: { type: "boolean" },
      },
    });
    const question = positionals.join(" ").trim();
    if (!question) {
      throw new ElmwoodError(
        "BAD_INPUT",
        "There is no question.",
        'Ask something: elmwood ask "when is the invoice due?"',
      );
    }
    const limit = numberOption(values.limit, "--limit", 8, { integer: true, min: 1, max: 20 });
    const modelArgs = parseModelArgs(values);
    const folders = values.folder?.map((f) => resolve(f));

    const { openDatabase } = await import("../../store/database.ts");
    const { DocumentIndexer } = await import("../../documents/indexer.ts");
    const { VectorIndexer } = await import("../../documents/vector-indexer.ts");
    const { MeaningModels } = await import("../../service/meaning.ts");
    const { groundingPassages } = await import("../../service/ask-sources.ts");
    const { askAboutResults } = await import("../../documents/grounded.ts");
    const { elmwoodPaths } = await import("../../paths.ts");
    const { meaningNote } = await import("./search.ts");

    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once("SIGINT", onSignal);
    const db = openDatabase();
    const meaning = new MeaningModels({ paths: elmwoodPaths() });
    try {
      if (folders?.length) await indexMissing(folders, abort.signal);
      const hits = await groundingPassages(
        db,
        question,
        undefined,
        { folders, limit },
        await meaning.meaningIndex(db),
      );
      if (abort.signal.aborted) throw new ElmwoodError("CANCELLED", "The question was cancelled.");
      const status = await meaning.snapshot(db);
      const note = meaningNote(hits.some((h) => h.matched !== "words") ? "hybrid" : "words", status);
      if (note) log(note);
      if (!hits.length)
        log(
          `No passage of ${folders?.length ? folders.join(", ") : "the index"} matches; answering without sources.`,
        );
      const completion = await loadCompletion(modelArgs);
      const answer = await askAboutResults(
        question,
        hits.map(({ path, location, text }) => ({ path, location, text })),
        completion,
        { signal: abort.signal, onText: values.json ? undefined : (delta) => process.stdout.write(delta) },
      );
      const cited = new Set(answer.citations.map((c) => c.n));
      const passages = hits.slice(0, answer.sourcesUsed).map((h, i) => ({
        n: i + 1,
        path: h.path,
        location: h.location,
        snippet: h.snippet,
        matched: h.matched,
        cited: cited.has(i + 1),
      }));
      if (values.json) {
        printJson({
          question,
          answer: answer.answer,
          notFound: answer.notFound,
          citations: passages.filter((p) => p.cited),
          sources: passages,
          invalidCitations: answer.invalidCitations,
        });
        return 0;
      }
      process.stdout.write("\n");
      const shown = passages.filter((p) => p.cited);
      if (shown.length) {
        process.stdout.write("\nSources:\n");
        for (const p of shown)
          process.stdout.write(
            `[${p.n}] ${p.path}${p.location ? ` (${p.location})` : ""}\n    ${p.snippet}\n`,
          );
      }
      return 0;
    } finally {
      process.off("SIGINT", onSignal);
      await closeCompletions();
      await meaning.close();
      db.close();
    }

    /** Folders the index does not cover yet are added and indexed, words then meaning, with progress. */
    async function indexMissing(dirs: string[], signal: AbortSignal): Promise<void> {
      const indexer = new DocumentIndexer(db);
      const vectors = new VectorIndexer(db, {
        openEmbedder: () => meaning.documentEmbedder(),
        wordIndexBusy: () => indexer.busy,
        progressIntervalMs: 1000,
      });
      const stopped = new Promise<void>((done) =>
        signal.addEventListener("abort", () => done(), { once: true }),
      );
      const stop = () => vectors.pause();
      signal.addEventListener("abort", stop, { once: true });
      try {
        const added = [];
        for (const dir of dirs) {
          if (indexer.store.folderContaining(dir)) continue;
          log(`indexing ${dir} first...`);
          added.push(await indexer.addFolder(dir));
        }
        if (!added.length) return;
        await Promise.race([indexer.whenIdle(), stopped]);
        if (signal.aborted) return;
        vectors.on(({ status }) => {
          if (status.state === "embedding") log(`meaning: ${status.embedded}/${status.total} passages`);
        });
        vectors.wake();
        await Promise.race([vectors.whenIdle(), stopped]);
      } finally {
        signal.removeEventListener("abort", stop);
        await indexer.close();
        await vectors.close();
      }
    }
  },
};
