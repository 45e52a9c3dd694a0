/**
 * Conversations as files: the branch on screen exported as Markdown (to read or share) or JSON (to
 * keep, or to import again), each naming the system prompt, the settings and the models; and a JSON
 * export read back as a new conversation. A file that is not JSON, not an Elmwood conversation, from
 * a newer Elmwood or damaged is refused with one message that says which.
 */
import { z } from "zod";
import {
  type Conversation,
  type ConversationFile,
  type ExportFormat,
  Interruption,
  type Message,
  MessageStats,
  Sampling,
} from "../api/contract.ts";
import { ElmwoodError } from "../errors.ts";
import type { ConversationStore } from "./store.ts";

export const FILE_FORMAT = "elmwood.conversation";
export const FILE_VERSION = 1;

const IsoTime = z.iso.datetime({ offset: true });

const ExportedMessage = z.object({
  role: z.enum(["user", "assistant"]),
  content: z.string().max(200_000),
  createdAt: IsoTime,
  /** The model that wrote a reply. */
  model: z.string().max(200).nullable().default(null),
  stats: MessageStats.nullable().default(null),
  interruption: Interruption.nullable().default(null),
});

/** The JSON file, version 1. Unknown fields are ignored, so a later minor addition still reads. */
export const ExportedConversation = z.object({
  format: z.literal(FILE_FORMAT),
  version: z.literal(FILE_VERSION),
  exportedAt: IsoTime,
  title: z.string().trim().min(1).max(200),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  settings: z.object({
    systemPrompt: z.string().max(8_000),
    sampling: Sampling,
    /** null: whichever model is the default when sending. */
    model: z.string().max(100).nullable(),
  }),
  /** The models that wrote the replies, in the order they first appear. */
  models: z.array(z.string().max(200)).max(1_000).default([]),
  /** The branch that was on screen, oldest first. */
  messages: z.array(ExportedMessage).max(10_000),
});
export type ExportedConversation = z.output<typeof ExportedConversation>;

const iso = (ms: number) => new Date(ms).toISOString();

function modelsOf(messages: readonly Message[]): string[] {
  const names: string[] = [];
  for (const m of messages) if (m.model && !names.includes(m.model)) names.push(m.model);
  return names;
}

export function toExported(conversation: Conversation, now = Date.now()): ExportedConversation {
  return {
    format: FILE_FORMAT,
    version: FILE_VERSION,
    exportedAt: iso(now),
    title: conversation.title,
    createdAt: iso(conversation.createdAt),
    updatedAt: iso(conversation.updatedAt),
    settings: conversation.settings,
    models: modelsOf(conversation.messages),
    messages: conversation.messages
      .filter((m) => m.role !== "system")
      .map((m) => ({
        role: m.role as "user" | "assistant",
        content: m.content,
        createdAt: iso(m.createdAt),
        model: m.model,
        stats: m.stats,
        interruption: m.interruption,
      })),
  };
}

/** "2025-05-01 14:03 UTC": the same whatever the machine's time zone or language. */
function when(ms: number): string {
  return `${iso(ms).slice(0, 16).replace("T", " ")} UTC`;
}

function settingsLine(sampling: Sampling): string {
  const parts = [
    `temperature ${sampling.temperature}`,
    `top-p ${sampling.topP}`,
    `top-k ${sampling.topK}`,
    `min-p ${sampling.minP}`,
    `repetition penalty ${sampling.repetitionPenalty}`,
    `replies up to ${sampling.maxTokens} tokens`,
  ];
  if (sampling.seed !== undefined) parts.push(`seed ${sampling.seed}`);
  return parts.join(" · ");
}

function quoted(text: string): string {
  return text
    .split("\n")
    .map((line) => (line ? `> ${line}` : ">"))
    .join("\n");
}

export function toMarkdown(conversation: Conversation, now = Date.now()): string {
  const { settings, messages } = conversation;
  const wrote = modelsOf(messages);
  const model = settings.model ?? (wrote.length ? wrote.join(", ") : "the default model");
  const out = [
    `# ${conversation.title}`,
    "",
    `- **Model:** ${model}`,
    `- **Settings:** ${settingsLine(settings.sampling)}`,
    `- **Started:** ${when(conversation.createdAt)}`,
    `- **Exported from Elmwood:** ${when(now)}`,
    "",
  ];
  if (settings.systemPrompt.trim()) out.push("## System prompt", "", quoted(settings.systemPrompt), "");
  out.push("---", "");
  for (const m of messages) {
    if (m.role === "system") continue;
    out.push(m.role === "user" ? "### You" : `### Elmwood${m.model ? ` (${m.model})` : ""}`, "");
    out.push(m.content.trim() || "_(nothing was written)_", "");
    if (m.interruption) out.push(`_${m.interruption.message}_`, "");
    else if (m.stats?.finishReason === "cancelled") out.push("_Stopped before it was finished._", "");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

/** A file name from the title, safe on every system: "Trees by the river.md". */
export function fileNameFor(title: string, format: ExportFormat): string {
  const base =
    title
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
      .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, " ")
      .replace(/\s+/g, " ")
      .trim()
      .replace(/^\.+/, "")
      .slice(0, 80)
      .trim() || "conversation";
  return `${base}.${format}`;
}

export function exportConversation(
  conversation: Conversation,
  format: ExportFormat,
  now = Date.now(),
): ConversationFile {
  return format === "json"
    ? {
        filename: fileNameFor(conversation.title, "json"),
        mimeType: "application/json",
        content: `${JSON.stringify(toExported(conversation, now), null, 2)}\n`,
      }
    : {
        filename: fileNameFor(conversation.title, "md"),
        mimeType: "text/markdown",
        content: toMarkdown(conversation, now),
      };
}

const HINT = "Choose a conversation exported from Elmwood as JSON (a Markdown export cannot be imported).";

function fieldName(path: readonly PropertyKey[]): string {
  let name = "";
  for (const key of path) name += typeof key === "number" ? `[${key}]` : `${name ? "." : ""}${String(key)}`;
  return name || "the file";
}

/** The file's text as a conversation, or BAD_INPUT saying what is wrong with it. */
export function parseConversationFile(text: string): ExportedConversation {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new ElmwoodError("BAD_INPUT", `This file is not JSON (${(error as Error).message}).`, HINT);
  }
  const marked = typeof data === "object" && data !== null && !Array.isArray(data) ? data : {};
  const { format, version } = marked as { format?: unknown; version?: unknown };
  if (format !== FILE_FORMAT) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `This is not an Elmwood conversation: it has no "format": "${FILE_FORMAT}".`,
      HINT,
    );
  }
  if (typeof version === "number" && version > FILE_VERSION) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `This conversation was exported by a newer Elmwood (file version ${version}; this one reads version ${FILE_VERSION}).`,
      "Update Elmwood to import it.",
    );
  }
  const parsed = ExportedConversation.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ElmwoodError(
      "BAD_INPUT",
      `This Elmwood conversation file is damaged: ${fieldName(issue.path)}: ${issue.message.replace(/^Invalid input: /, "")}.`,
      "Export the conversation again, or correct that field.",
    );
  }
  return parsed.data;
}

/**
 * Adds the file's conversation as a new one (its own ids; the original is untouched if it is still
 * here). A model that is not installed here gives way to the default model, and the note says so.
 */
export function importConversation(
  store: ConversationStore,
  text: string,
  isInstalled: (model: string) => boolean,
): { conversationId: string; notes: string[] } {
  const file = parseConversationFile(text);
  const notes: string[] = [];
  let model = file.settings.model;
  if (model !== null && !isInstalled(model)) {
    notes.push(`The model "${model}" is not installed here, so the conversation will use the default model.`);
    model = null;
  }
  const record = store.restore(
    {
      title: file.title,
      systemPrompt: file.settings.systemPrompt,
      sampling: file.settings.sampling,
      model,
      createdAt: Date.parse(file.createdAt),
      updatedAt: Date.parse(file.updatedAt),
    },
    file.messages.map((m) => ({
      role: m.role,
      content: m.content,
      model: m.model,
      stats: m.stats,
      interruption: m.interruption,
      createdAt: Date.parse(m.createdAt),
    })),
  );
  return { conversationId: record.id, notes };
}
