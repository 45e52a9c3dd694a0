/**
 * `elmwood chat list|export|import`: the conversations of the profile (ELMWOOD_HOME) from a
 * terminal. `export` writes the branch on screen as Markdown or JSON (to stdout, or atomically to
 * --out); `import` adds a JSON export as a new conversation.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { ConversationSummary, ExportFormat } from "../../api/contract.ts";
import type { ConversationStore } from "../../chat/store.ts";
import { ElmwoodError } from "../../errors.ts";
import { type Command, log, printJson } from "../command.ts";
import { numberOption } from "../parse.ts";

const USAGE = `chat <list|export|import> ...
  chat list [--limit N] [--json]            conversations, most recent first, with their ids
  chat export <id|title> [--format md|json] [--out FILE]
                                            the branch on screen, its system prompt, settings and models
                                            (Markdown by default; to stdout unless --out)
  chat import <file> [--json]               a conversation exported as JSON, added as a new one`;

const LIST_HINT = "Run 'elmwood chat list' to see the conversations and their ids.";

/** "2025-05-01 14:03", local time: what a person reads in a terminal. */
function when(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/**
 * The conversation `ref` names: its id, a unique start of its id (6 characters or more), or its
 * title (ignoring case). A title two conversations share is refused, listing both.
 */
export function findConversation(store: ConversationStore, ref: string): ConversationSummary {
  const { conversations } = store.list(100_000, 0);
  const exact = conversations.find((c) => c.id === ref);
  if (exact) return exact;
  const byPrefix = ref.length >= 6 ? conversations.filter((c) => c.id.startsWith(ref)) : [];
  const byTitle = conversations.filter((c) => c.title.toLowerCase() === ref.trim().toLowerCase());
  const found = byPrefix.length ? byPrefix : byTitle;
  if (found.length === 1) return found[0];
  if (found.length > 1) {
    const lines = found.map((c) => `  ${c.id}  ${when(c.updatedAt)}  ${c.title}`).join("\n");
    throw new ElmwoodError(
      "BAD_INPUT",
      `${found.length} conversations match '${ref}':\n${lines}`,
      "Give the id of the one you mean.",
    );
  }
  throw new ElmwoodError("NOT_FOUND", `No conversation has the id or title '${ref}'.`, LIST_HINT);
}

async function writeTextAtomic(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, text, "utf8");
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new ElmwoodError("DISK", `Could not write ${path}: ${(error as Error).message}.`, undefined, {
      cause: error,
    });
  }
}

async function withStore<T>(work: (store: ConversationStore) => Promise<T>): Promise<T> {
  const { openDatabase } = await import("../../store/database.ts");
  const { ConversationStore } = await import("../../chat/store.ts");
  const db = openDatabase();
  try {
    return await work(new ConversationStore(db));
  } finally {
    db.close();
  }
}

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { limit: { type: "string" }, json: { type: "boolean" } },
  });
  if (positionals.length) throw new ElmwoodError("BAD_INPUT", "'chat list' takes no arguments.", USAGE);
  const limit = numberOption(values.limit, "--limit", 50, { integer: true, min: 1, max: 10_000 });
  return withStore(async (store) => {
    const { conversations, total } = store.list(limit, 0);
    if (values.json) {
      printJson({ conversations, total });
      return 0;
    }
    if (!conversations.length) {
      process.stdout.write(
        "No conversations yet. Start one in the app, or import one with 'elmwood chat import'.\n",
      );
      return 0;
    }
    const lines = conversations.map(
      (c) => `${c.id}  ${when(c.updatedAt)}  ${String(c.messageCount).padStart(4)} msgs  ${c.title}`,
    );
    process.stdout.write(`${lines.join("\n")}\n`);
    if (total > conversations.length) log(`(${total - conversations.length} more; use --limit to see them)`);
    return 0;
  });
}

async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { format: { type: "string" }, out: { type: "string" } },
  });
  if (positionals.length !== 1) {
    throw new ElmwoodError("BAD_INPUT", "'chat export' takes one conversation id or title.", LIST_HINT);
  }
  const format = (values.format ?? "md") as ExportFormat;
  if (format !== "md" && format !== "json") {
    throw new ElmwoodError("BAD_INPUT", `--format must be md or json, not '${values.format}'.`);
  }
  const { exportConversation } = await import("../../chat/transfer.ts");
  return withStore(async (store) => {
    const summary = findConversation(store, positionals[0]);
    const file = exportConversation(store.view(summary.id), format);
    if (values.out === undefined) {
      process.stdout.write(file.content);
      return 0;
    }
    const out = resolve(values.out);
    await writeTextAtomic(out, file.content);
    log(`Exported "${summary.title}" to ${out}.`);
    return 0;
  });
}

async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  if (positionals.length !== 1) {
    throw new ElmwoodError(
      "BAD_INPUT",
      "'chat import' takes one file.",
      "Example: elmwood chat import chat.json",
    );
  }
  const path = resolve(positionals[0]);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new ElmwoodError(
      missing ? "NOT_FOUND" : "DISK",
      missing ? `There is no file at ${path}.` : `Could not read ${path}: ${(error as Error).message}.`,
      "Check the path and try again.",
    );
  }
  const { importConversation } = await import("../../chat/transfer.ts");
  const { ModelLibrary } = await import("../../../models/library.ts");
  const installed = new Set((await new ModelLibrary().list()).models.map((m) => m.name));
  return withStore(async (store) => {
    const { conversationId, notes } = importConversation(store, text, (name) => installed.has(name));
    const summary = store.summary(conversationId);
    for (const note of notes) log(note);
    if (values.json) printJson({ conversation: summary, notes });
    else log(`Imported "${summary.title}" (${summary.messageCount} messages) as ${summary.id}.`);
    return 0;
  });
}

export const chat: Command = {
  name: "chat",
  usage: "chat <list|export|import> [options]",
  help: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    switch (sub) {
      case "list":
        return list(rest);
      case "export":
        return exportCommand(rest);
      case "import":
        return importCommand(rest);
      default:
        throw new ElmwoodError(
          "BAD_INPUT",
          sub ? `'${sub}' is not a chat subcommand.` : "chat needs a subcommand.",
          "Run 'elmwood chat --help' for the list.",
        );
    }
  },
};
