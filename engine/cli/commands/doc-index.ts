/**
 * `elmwood index add|remove|status|sync`: the document folders that search covers. `add` indexes the
 * folder before returning (with --watch it then follows changes until Ctrl-C); `sync` catches every
 * folder up with the disk, as the app does at start-up.
 */
import { parseArgs } from "node:util";
import type { FolderStatus } from "../../documents/index-store.ts";
import type { IndexEvent } from "../../documents/indexer.ts";
import { ElmwoodError } from "../../errors.ts";
import { type Command, log, printJson } from "../command.ts";

const USAGE =
  "index add <folder> [--watch] [--verbose] [--json] | index remove <folder> | index status [--json] | index sync";

export const index: Command = {
  name: "index",
  usage: USAGE,
  help:
    "Folders are indexed in the profile's database (ELMWOOD_HOME). add: index a folder now (--watch: keep following\n" +
    "changes until Ctrl-C; --verbose: one line per file). status: per-folder state, counts and skipped files with\n" +
    "reasons. sync: bring every folder up to date. remove: forget a folder and its index.",
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
        "max-file-mb": { type: "string" },
      },
    });
    const { DocumentIndexer } = await import("../../documents/indexer.ts");
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
    try {
      if (action === "status") {
        const status = indexer.status();
        if (values.json) printJson({ folders: status });
        else process.stdout.write(formatStatus(status));
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
      if (values.watch) {
        log("Watching for changes; press Ctrl-C to stop.");
        await stop;
      }
      const status = indexer.status().filter((f) => folderId === undefined || f.id === folderId);
      if (values.json) printJson({ folders: status });
      else process.stdout.write(formatStatus(status));
      return status.some((f) => f.state === "missing" || f.state === "error") ? 1 : 0;
    } finally {
      await indexer.close();
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
