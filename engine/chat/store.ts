/**
 * Conversations and their message trees in the profile database. Every write that changes what a
 * person sees (a message and the branch it makes current) is one transaction, so a crash leaves the
 * conversation as it was before or as it is after, never in between.
 */
import { randomUUID } from "node:crypto";
import type {
  Conversation,
  ConversationHit,
  ConversationSummary,
  Message,
  MessageStats,
  Role,
  Sampling,
} from "../api/contract.ts";
import { ElmwoodError } from "../errors.ts";
import { type Db, firstRow, scalar } from "../store/database.ts";
import "./schema.ts";

export interface ConversationRecord {
  id: string;
  /** "" until the first message names it (or a person does). */
  title: string;
  systemPrompt: string;
  sampling: Sampling;
  model: string | null;
  activeLeafId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface StoredMessage {
  id: string;
  conversationId: string;
  parentId: string | null;
  seq: number;
  role: Role;
  content: string;
  model: string | null;
  /** The chat template family the token ids belong to. */
  template: string | null;
  /** Generated token ids of an assistant reply, reused to render the next turn. */
  tokens: number[] | null;
  stats: MessageStats | null;
  createdAt: number;
}

export interface NewMessage {
  id?: string;
  parentId: string | null;
  role: Role;
  content: string;
  model?: string | null;
  template?: string | null;
  tokens?: readonly number[] | null;
  stats?: MessageStats | null;
}

const UNTITLED = "New chat";
const TITLE_CHARS = 60;

interface ConversationRow {
  id: string;
  title: string;
  system_prompt: string;
  sampling: string;
  model: string | null;
  active_leaf_id: string | null;
  created_at: number;
  updated_at: number;
}

interface MessageRow {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  seq: number;
  role: Role;
  content: string;
  model: string | null;
  template: string | null;
  tokens: string | null;
  stats: string | null;
  created_at: number;
}

function toConversation(row: ConversationRow): ConversationRecord {
  return {
    id: row.id,
    title: row.title,
    systemPrompt: row.system_prompt,
    sampling: JSON.parse(row.sampling) as Sampling,
    model: row.model,
    activeLeafId: row.active_leaf_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    parentId: row.parent_id,
    seq: Number(row.seq),
    role: row.role,
    content: row.content,
    model: row.model,
    template: row.template,
    tokens: row.tokens === null ? null : (JSON.parse(row.tokens) as number[]),
    stats: row.stats === null ? null : (JSON.parse(row.stats) as MessageStats),
    createdAt: Number(row.created_at),
  };
}

/** The first line of the first message, cut at a word near 60 characters. */
export function titleFrom(text: string): string {
  const line = text.trim().split("\n")[0].replace(/\s+/g, " ").trim();
  if (line.length <= TITLE_CHARS) return line || UNTITLED;
  const cut = line.slice(0, TITLE_CHARS);
  const space = cut.lastIndexOf(" ");
  return `${(space > TITLE_CHARS / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function newId(): string {
  return randomUUID().replaceAll("-", "");
}

function notFound(what: string, id: string): ElmwoodError {
  return new ElmwoodError(
    "NOT_FOUND",
    `There is no ${what} with id ${id}.`,
    what === "conversation"
      ? "It may have been deleted; pick one from the list."
      : "Reload the conversation and try again.",
  );
}

export class ConversationStore {
  constructor(private readonly db: Db) {}

  create(
    fields: { title?: string; systemPrompt: string; sampling: Sampling; model: string | null },
    now = Date.now(),
  ): ConversationRecord {
    const id = newId();
    this.db
      .prepare(
        "INSERT INTO chat_conversations (id, title, system_prompt, sampling, model, created_at, updated_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        id,
        fields.title ?? "",
        fields.systemPrompt,
        JSON.stringify(fields.sampling),
        fields.model,
        now,
        now,
      );
    return this.get(id);
  }

  get(id: string): ConversationRecord {
    const row = firstRow<ConversationRow>(this.db, "SELECT * FROM chat_conversations WHERE id = ?", id);
    if (!row) throw notFound("conversation", id);
    return toConversation(row);
  }

  list(limit: number, offset: number): { conversations: ConversationSummary[]; total: number } {
    const rows = this.db
      .prepare(
        "SELECT c.*, (SELECT COUNT(*) FROM chat_messages m WHERE m.conversation_id = c.id) AS message_count " +
          "FROM chat_conversations c ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ? OFFSET ?",
      )
      .all(limit, offset) as (ConversationRow & { message_count: number })[];
    const total = Number(scalar(this.db, "SELECT COUNT(*) FROM chat_conversations") ?? 0);
    return {
      conversations: rows.map((row) => this.summaryOf(toConversation(row), Number(row.message_count))),
      total,
    };
  }

  summary(id: string): ConversationSummary {
    const count = Number(
      scalar(this.db, "SELECT COUNT(*) FROM chat_messages WHERE conversation_id = ?", id) ?? 0,
    );
    return this.summaryOf(this.get(id), count);
  }

  private summaryOf(record: ConversationRecord, messageCount: number): ConversationSummary {
    return {
      id: record.id,
      title: record.title || UNTITLED,
      model: record.model,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      messageCount,
    };
  }

  rename(id: string, title: string): ConversationSummary {
    this.get(id);
    this.db
      .prepare("UPDATE chat_conversations SET title = ?, updated_at = ? WHERE id = ?")
      .run(title, Date.now(), id);
    return this.summary(id);
  }

  delete(id: string): boolean {
    return this.db.prepare("DELETE FROM chat_conversations WHERE id = ?").run(id).changes > 0;
  }

  updateSettings(
    id: string,
    patch: { systemPrompt?: string; sampling?: Sampling; model?: string | null },
  ): ConversationRecord {
    const current = this.get(id);
    this.db
      .prepare("UPDATE chat_conversations SET system_prompt = ?, sampling = ?, model = ? WHERE id = ?")
      .run(
        patch.systemPrompt ?? current.systemPrompt,
        JSON.stringify(patch.sampling ?? current.sampling),
        patch.model === undefined ? current.model : patch.model,
        id,
      );
    return this.get(id);
  }

  /** Every message of the conversation, all branches, in creation order. */
  messages(conversationId: string): StoredMessage[] {
    const rows = this.db
      .prepare("SELECT * FROM chat_messages WHERE conversation_id = ? ORDER BY seq")
      .all(conversationId) as MessageRow[];
    return rows.map(toMessage);
  }

  message(conversationId: string, id: string): StoredMessage {
    const row = firstRow<MessageRow>(
      this.db,
      "SELECT * FROM chat_messages WHERE id = ? AND conversation_id = ?",
      id,
      conversationId,
    );
    if (!row) throw notFound("message in this conversation", id);
    return toMessage(row);
  }

  /** The branch from the root to `leafId`, root first; empty for null. */
  path(conversationId: string, leafId: string | null): StoredMessage[] {
    if (leafId === null) return [];
    const byId = new Map(this.messages(conversationId).map((m) => [m.id, m]));
    const path: StoredMessage[] = [];
    for (let m = byId.get(leafId); m; m = m.parentId === null ? undefined : byId.get(m.parentId)) {
      path.push(m);
    }
    if (path.length === 0) throw notFound("message in this conversation", leafId);
    return path.reverse();
  }

  /**
   * Adds a message and makes it the end of the branch on screen, in one transaction. The first user
   * message names an untitled conversation.
   */
  add(conversationId: string, message: NewMessage, now = Date.now()): StoredMessage {
    const id = message.id ?? newId();
    this.db.transaction(() => {
      const conversation = this.get(conversationId);
      if (message.parentId !== null) this.message(conversationId, message.parentId);
      const seq =
        Number(
          scalar(this.db, "SELECT MAX(seq) FROM chat_messages WHERE conversation_id = ?", conversationId) ??
            0,
        ) + 1;
      this.db
        .prepare(
          "INSERT INTO chat_messages (id, conversation_id, parent_id, seq, role, content, model, template, tokens, stats, created_at) " +
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          id,
          conversationId,
          message.parentId,
          seq,
          message.role,
          message.content,
          message.model ?? null,
          message.template ?? null,
          message.tokens ? JSON.stringify(message.tokens) : null,
          message.stats ? JSON.stringify(message.stats) : null,
          now,
        );
      const title =
        conversation.title === "" && message.role === "user"
          ? titleFrom(message.content)
          : conversation.title;
      this.db
        .prepare("UPDATE chat_conversations SET active_leaf_id = ?, title = ?, updated_at = ? WHERE id = ?")
        .run(id, title, now, conversationId);
    })();
    return this.message(conversationId, id);
  }

  /**
   * Shows the branch through `messageId`: from it, down the most recent child at each step. Returns
   * the new leaf.
   */
  switchTo(conversationId: string, messageId: string): string {
    const all = this.messages(conversationId);
    if (!all.some((m) => m.id === messageId)) throw notFound("message in this conversation", messageId);
    const latestChild = new Map<string, string>();
    for (const m of all) if (m.parentId !== null) latestChild.set(m.parentId, m.id); // seq order: last wins
    let leaf = messageId;
    for (let next = latestChild.get(leaf); next; next = latestChild.get(leaf)) leaf = next;
    this.db
      .prepare("UPDATE chat_conversations SET active_leaf_id = ? WHERE id = ?")
      .run(leaf, conversationId);
    return leaf;
  }

  /** The conversation as the UI shows it: the current branch, each message with its siblings. */
  view(id: string): Conversation {
    const record = this.get(id);
    const all = this.messages(id);
    const siblings = siblingGroups(all);
    const byId = new Map(all.map((m) => [m.id, m]));
    const path: StoredMessage[] = [];
    for (
      let m = record.activeLeafId === null ? undefined : byId.get(record.activeLeafId);
      m;
      m = m.parentId === null ? undefined : byId.get(m.parentId)
    ) {
      path.push(m);
    }
    path.reverse();
    return {
      ...this.summaryOf(record, all.length),
      settings: { systemPrompt: record.systemPrompt, sampling: record.sampling, model: record.model },
      activeLeafId: record.activeLeafId,
      messages: path.map((m) => toWire(m, siblings)),
    };
  }

  /** One message as the contract shows it, with its siblings. */
  wire(conversationId: string, id: string): Message {
    return toWire(this.message(conversationId, id), siblingGroups(this.messages(conversationId)));
  }

  /**
   * Conversations whose title or a message holds every word of the query (case-insensitive for
   * ASCII), most recently updated first, one hit per conversation.
   */
  search(query: string, limit: number): ConversationHit[] {
    const words = query.split(/\s+/).filter(Boolean).slice(0, 8);
    if (words.length === 0) return [];
    const like = words.map((w) => `%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const all = (column: string) => words.map(() => `${column} LIKE ? ESCAPE '\\'`).join(" AND ");
    const titleRows = this.db
      .prepare(
        `SELECT id, title, updated_at FROM chat_conversations WHERE ${all("title")} ORDER BY updated_at DESC LIMIT ?`,
      )
      .all(...like, limit) as { id: string; title: string; updated_at: number }[];
    const messageRows = this.db
      .prepare(
        `SELECT m.conversation_id, c.title, m.id, m.content, c.updated_at FROM chat_messages m ` +
          `JOIN chat_conversations c ON c.id = m.conversation_id WHERE ${all("m.content")} ` +
          "ORDER BY c.updated_at DESC, m.seq DESC LIMIT ?",
      )
      .all(...like, limit * 5) as {
      conversation_id: string;
      title: string;
      id: string;
      content: string;
      updated_at: number;
    }[];
    const hits = new Map<string, ConversationHit>();
    for (const row of messageRows) {
      if (hits.has(row.conversation_id)) continue;
      hits.set(row.conversation_id, {
        conversationId: row.conversation_id,
        title: row.title || UNTITLED,
        messageId: row.id,
        snippet: snippet(row.content, words[0]),
        updatedAt: Number(row.updated_at),
      });
    }
    for (const row of titleRows) {
      if (hits.has(row.id)) continue;
      hits.set(row.id, {
        conversationId: row.id,
        title: row.title,
        messageId: null,
        snippet: row.title,
        updatedAt: Number(row.updated_at),
      });
    }
    return [...hits.values()].sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit);
  }
}

function siblingGroups(all: readonly StoredMessage[]): Map<string | null, string[]> {
  const groups = new Map<string | null, string[]>();
  for (const m of all) {
    const list = groups.get(m.parentId) ?? [];
    list.push(m.id);
    groups.set(m.parentId, list);
  }
  return groups;
}

function toWire(m: StoredMessage, siblings: Map<string | null, string[]>): Message {
  const siblingIds = siblings.get(m.parentId) ?? [m.id];
  return {
    id: m.id,
    conversationId: m.conversationId,
    parentId: m.parentId,
    role: m.role,
    content: m.content,
    createdAt: m.createdAt,
    model: m.model,
    stats: m.stats,
    siblingIds,
    siblingIndex: siblingIds.indexOf(m.id),
  };
}

/** About a line of text around the first match of `word`. */
function snippet(text: string, word: string): string {
  const flat = text.replace(/\s+/g, " ");
  const at = flat.toLowerCase().indexOf(word.toLowerCase());
  const start = Math.max(0, at - 40);
  const end = Math.min(flat.length, Math.max(at, 0) + word.length + 80);
  return `${start > 0 ? "…" : ""}${flat.slice(start, end)}${end < flat.length ? "…" : ""}`;
}
