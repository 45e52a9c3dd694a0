/**
 * `elmwood index add|remove|status|sync`: the document folders that search covers. `add` indexes the
 * folder before returning (with --watch it then follows changes until Ctrl-C); `sync` catches every
 * folder up with the disk, as the app does at start-up.
 */
import { parseArgs } from "node:util";
import type { FolderStatus } from "../../documents/index-store.ts";
import type { IndexEvent } from "../../documents/indexer.ts";
import type { MeaningEvent, MeaningStatus } from "../../documents/vector-indexer.ts";
import { ElmwoodError } from "../../errors.ts";
import { type Command, log, printJson } from "../command.ts";

const USAGE =
  "index add <folder> [--watch] [--verbose] [--words-only] [--json] | index remove <folder> | index status [--json] | index sync [--words-only]";

export const index: Command = {
  name: "index",
  usage: USAGE,
  help:
    "Folders are indexed in the profile's database (ELMWOOD_HOME). add: index a folder now (--watch: keep following\n" +
    "changes until Ctrl-C; --verbose: one line per file). status: per-folder state, counts and skipped files with\n" +
    "reasons. sync: bring every folder up to date. remove: forget a folder and its index.\n" +
    "With the embedding model installed, add and sync then give every passage a vector so search finds it by\n" +
    "meaning (progress on stderr; Ctrl-C stops, keeping what was done); --words-only skips that.",
  async run(args) {
    const [action, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: {
        json: { type: "boolean" },
        watch: { type: "boolean" },
        verbose: { type: "boolean" },
        "words-only": { type: "boolean" },
        "max-file-mb": { type: "string" },
      },
    });
    const { DocumentIndexer } = await import("../../documents/indexer.ts");
    const { VectorIndexer } = await import("../../documents/vector-indexer.ts");
    const { MeaningModels } = await import("../../service/meaning.ts");
    const { elmwoodPaths } = await import("../../paths.ts");
    const { openDatabase } = await import("../../store/database.ts");
    const maxMb = values["max-file-mb"] === undefined ? undefined : Number(values["max-file-mb"]);
    if (maxMb !== undefined && !(maxMb > 0)) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `--max-file-mb must be a positive number, not '${values["max-file-mb"]}'.`,
      );
    }
    const needsFolder = action === "add" || action === "remove";
    if (needsFolder && positionals.length !== 1) {
      throw new ElmwoodError("BAD_INPUT", `'index ${action}' takes one folder.`, `Usage: elmwood ${USAGE}`);
    }
    if (!needsFolder && positionals.length) {
      throw new ElmwoodError("BAD_INPUT", `'index ${action}' takes no folder.`, `Usage: elmwood ${USAGE}`);
    }
    if (!["add", "remove", "status", "sync"].includes(action ?? "")) {
      throw new ElmwoodError("BAD_INPUT", `Unknown action '${action ?? ""}'.`, `Usage: elmwood ${USAGE}`);
    }

    const db = openDatabase();
    const indexer = new DocumentIndexer(db, {
      watch: Boolean(values.watch),
      prepare: maxMb ? { maxFileBytes: maxMb * 1024 * 1024 } : undefined,
    });
    const meaning = new MeaningModels({ paths: elmwoodPaths() });
    const vectors = new VectorIndexer(db, {
      openEmbedder: () => meaning.documentEmbedder(),
      wordIndexBusy: () => indexer.busy,
      paused: Boolean(values["words-only"]),
      progressIntervalMs: 1000,
    });
    try {
      if (action === "status") {
        const status = indexer.status();
        const semantic = await meaning.snapshot(db);
        if (values.json) printJson({ folders: status, meaning: semantic });
        else process.stdout.write(`${formatStatus(status)}${formatMeaning(semantic)}`);
        return 0;
      }
      if (action === "remove") {
        const removed = await indexer.removeFolder(positionals[0]);
        if (!removed)
          throw new ElmwoodError(
            "NOT_FOUND",
            `${positionals[0]} is not an indexed folder.`,
            "See 'elmwood index status'.",
          );
        if (values.json) printJson({ removed: positionals[0] });
        else log(`Removed ${positionals[0]} from the index.`);
        return 0;
      }
      indexer.on(progressPrinter(Boolean(values.verbose)));
      indexer.on((event) => {
        if (event.type === "idle") vectors.wake();
      });
      vectors.on(meaningPrinter());
      const stop = new Promise<void>((done) => {
        process.once("SIGINT", () => done());
        process.once("SIGTERM", () => done());
      });
      let folderId: number | undefined;
      if (action === "add") {
        const { folder, replaced } = await indexer.addFolder(positionals[0]);
        folderId = folder.id;
        for (const inner of replaced) log(`${inner} is now indexed as part of ${folder.path}.`);
      } else {
        indexer.start();
      }
      await Promise.race([indexer.whenIdle(), stop]);
      // Then meaning: every chunk without a vector gets one (the whole index, not only this folder).
      vectors.wake();
      await Promise.race([vectors.whenIdle(), stop]);
      if (values.watch) {
        log("Watching for changes; press Ctrl-C to stop.");
        await stop;
      }
      const status = indexer.status().filter((f) => folderId === undefined || f.id === folderId);
      const semantic = await meaning.snapshot(db);
      if (values.json) printJson({ folders: status, meaning: semantic });
      else process.stdout.write(`${formatStatus(status)}${formatMeaning(semantic)}`);
      return status.some((f) => f.state === "missing" || f.state === "error") ? 1 : 0;
    } finally {
      vectors.pause();
      await indexer.close();
      await vectors.close();
      await meaning.close();
      db.close();
    }
  },
};

function progressPrinter(verbose: boolean): (event: IndexEvent) => void {
  let last = 0;
  return (event) => {
    if (event.type === "file" && verbose) {
      log(`${event.outcome} ${event.path}${event.reason ? `: ${event.reason}` : ""}`);
    } else if (event.type === "progress") {
      const now = Date.now();
      if (now - last < 1000 && event.done !== event.total) return;
      last = now;
      log(`${event.path}: ${event.done}/${event.total} files`);
    } else if (event.type === "folder" && event.message) {
      log(`${event.path}: ${event.state}: ${event.message}`);
    }
  };
}

function meaningPrinter(): (event: MeaningEvent) => void {
  let last = "";
  return ({ status }) => {
    const line =
      status.state === "embedding"
        ? `meaning: ${status.embedded}/${status.total} passages${status.chunksPerSecond ? ` (${status.chunksPerSecond} per second)` : ""}`
        : status.state === "error"
          ? (status.message ?? "meaning: stopped")
          : "";
    if (line && line !== last) log(line);
    last = line;
  };
}

function formatMeaning(status: MeaningStatus): string {
  switch (status.state) {
    case "no-model":
      return "Search by meaning is off: no embedding model is installed (elmwood models pull all-minilm-l6-v2).\n";
    case "ready":
      return `Every passage (${status.total}) can be found by meaning.\n`;
    default:
      return `${status.embedded} of ${status.total} passages can be found by meaning; 'elmwood index sync' makes the rest.\n`;
  }
}

function formatStatus(folders: FolderStatus[]): string {
  if (!folders.length) return "No folders are indexed. Add one with 'elmwood index add <folder>'.\n";
  const lines: string[] = [];
  for (const f of folders) {
    const progress = f.state === "indexing" ? ` ${f.filesDone}/${f.filesTotal}` : "";
    lines.push(`${f.path}  [${f.state}${progress}]${f.message ? `  ${f.message}` : ""}`);
    lines.push(
      `  ${f.indexed} indexed (${f.chunks} chunks, ${(f.bytes / 1048576).toFixed(1)} MB), ${f.skipped} skipped, ${f.errors} failed`,
    );
    for (const p of f.problems) lines.push(`  ${p.status}: ${p.path}: ${p.reason}`);
  }
  return `${lines.join("\n")}\n`;
}
