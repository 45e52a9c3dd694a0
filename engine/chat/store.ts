/**
 * Conversations and their message trees in the profile database. Every write that changes what a
 * person sees (a message and the branch it makes current) is one transaction, so a crash leaves the
 * conversation as it was before or as it is after, never in between. A reply being written is kept
 * beside the messages (replies in progress) until it is finished, so a crash keeps what it had.
 */
import { randomUUID } from "node:crypto";
import type {
  Conversation,
  ConversationHit,
  ConversationSummary,
  Interruption,
  Message,
  MessageStats,
  Role,
  Sampling,
} from "../api/contract.ts";
import { parseQuery } from "../documents/query.ts";
import { parseSnippet, SNIPPET_MARKS } from "../documents/search.ts";
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
  interruption: Interruption | null;
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
  interruption?: Interruption | null;
}

/** A reply being written, as last saved. */
export interface ReplyInProgress {
  id: string;
  conversationId: string;
  parentId: string;
  model: string | null;
  template: string | null;
  content: string;
  tokens: number[];
  /** "<pid>:<instance>" of the process writing it. */
  owner: string;
  startedAt: number;
  savedAt: number;
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
  interruption: string | null;
  created_at: number;
}

interface ReplyRow {
  id: string;
  conversation_id: string;
  parent_id: string;
  model: string | null;
  template: string | null;
  content: string;
  tokens: string;
  owner: string;
  started_at: number;
  saved_at: number;
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
    interruption: row.interruption === null ? null : (JSON.parse(row.interruption) as Interruption),
    createdAt: Number(row.created_at),
  };
}

function toReply(row: ReplyRow): ReplyInProgress {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    parentId: row.parent_id,
    model: row.model,
    template: row.template,
    content: row.content,
    tokens: JSON.parse(row.tokens) as number[],
    owner: row.owner,
    startedAt: Number(row.started_at),
    savedAt: Number(row.saved_at),
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
      this.insert(conversationId, { ...message, id }, now, now);
    })();
    return this.message(conversationId, id);
  }

  /**
   * Inserts a message, makes it current and names an untitled conversation; a reply in progress
   * with the same id is done with. Runs inside the caller's transaction.
   */
  private insert(
    conversationId: string,
    message: NewMessage & { id: string },
    createdAt: number,
    now: number,
    activate = true,
  ): void {
    const conversation = this.get(conversationId);
    if (message.parentId !== null) this.message(conversationId, message.parentId);
    const seq =
      Number(
        scalar(this.db, "SELECT MAX(seq) FROM chat_messages WHERE conversation_id = ?", conversationId) ?? 0,
      ) + 1;
    this.db
      .prepare(
        "INSERT INTO chat_messages (id, conversation_id, parent_id, seq, role, content, model, template, tokens, stats, interruption, created_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        message.id,
        conversationId,
        message.parentId,
        seq,
        message.role,
        message.content,
        message.model ?? null,
        message.template ?? null,
        message.tokens ? JSON.stringify(message.tokens) : null,
        message.stats ? JSON.stringify(message.stats) : null,
        message.interruption ? JSON.stringify(message.interruption) : null,
        createdAt,
      );
    this.db.prepare("DELETE FROM chat_replies_in_progress WHERE id = ?").run(message.id);
    const title =
      conversation.title === "" && message.role === "user" ? titleFrom(message.content) : conversation.title;
    this.db
      .prepare("UPDATE chat_conversations SET active_leaf_id = ?, title = ?, updated_at = ? WHERE id = ?")
      .run(activate ? message.id : conversation.activeLeafId, title, now, conversationId);
  }

  /**
   * A whole conversation at once (an import): the record and its messages as one branch, oldest
   * first, with their own times, in one transaction (all of it is added or none).
   */
  restore(
    fields: {
      title: string;
      systemPrompt: string;
      sampling: Sampling;
      model: string | null;
      createdAt: number;
      updatedAt: number;
    },
    messages: readonly (Omit<NewMessage, "id" | "parentId"> & { createdAt: number })[],
  ): ConversationRecord {
    const id = newId();
    this.db.transaction(() => {
      this.db
        .prepare(
          "INSERT INTO chat_conversations (id, title, system_prompt, sampling, model, created_at, updated_at) " +
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          id,
          fields.title,
          fields.systemPrompt,
          JSON.stringify(fields.sampling),
          fields.model,
          fields.createdAt,
          fields.createdAt,
        );
      let parentId: string | null = null;
      for (const message of messages) {
        const messageId = newId();
        this.insert(id, { ...message, id: messageId, parentId }, message.createdAt, message.createdAt);
        parentId = messageId;
      }
      this.db.prepare("UPDATE chat_conversations SET updated_at = ? WHERE id = ?").run(fields.updatedAt, id);
    })();
    return this.get(id);
  }

  /** Records a reply about to be written, so what it writes can be saved as it goes. */
  beginReply(
    reply: Pick<ReplyInProgress, "id" | "conversationId" | "parentId" | "model" | "template" | "owner">,
    now = Date.now(),
  ): void {
    this.db
      .prepare(
        "INSERT INTO chat_replies_in_progress (id, conversation_id, parent_id, model, template, owner, started_at, saved_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        reply.id,
        reply.conversationId,
        reply.parentId,
        reply.model,
        reply.template,
        reply.owner,
        now,
        now,
      );
  }

  /** Saves what a reply in progress has written so far (one statement: it lands whole or not at all). */
  saveReply(id: string, content: string, tokens: readonly number[], now = Date.now()): void {
    this.db
      .prepare("UPDATE chat_replies_in_progress SET content = ?, tokens = ?, saved_at = ? WHERE id = ?")
      .run(content, JSON.stringify(tokens), now, id);
  }

  /** Forgets a reply in progress that will not become a message (it failed before writing anything). */
  dropReply(id: string): void {
    this.db.prepare("DELETE FROM chat_replies_in_progress WHERE id = ?").run(id);
  }

  repliesInProgress(): ReplyInProgress[] {
    const rows = this.db
      .prepare("SELECT * FROM chat_replies_in_progress ORDER BY started_at")
      .all() as ReplyRow[];
    return rows.map(toReply);
  }

  /**
   * Keeps each reply in progress whose writer is gone (`orphaned` says which) as an interrupted
   * message, with what it had written when last saved; one that had written nothing is dropped.
   * The recovered reply becomes the branch on screen if that branch went through its question (as
   * it did while the reply was written: after the question, or through the reply it regenerated).
   * Returns the messages kept.
   */
  recoverReplies(orphaned: (owner: string) => boolean, interruption: Interruption): StoredMessage[] {
    const kept: { conversationId: string; id: string }[] = [];
    this.db
      .transaction(() => {
        for (const reply of this.repliesInProgress()) {
          if (!orphaned(reply.owner)) continue;
          if (!reply.content.trim()) {
            this.dropReply(reply.id);
            continue;
          }
          const { activeLeafId } = this.get(reply.conversationId);
          const onScreen = this.path(reply.conversationId, activeLeafId).some((m) => m.id === reply.parentId);
          this.insert(
            reply.conversationId,
            {
              id: reply.id,
              parentId: reply.parentId,
              role: "assistant",
              content: reply.content,
              model: reply.model,
              template: reply.template,
              tokens: reply.tokens,
              interruption,
            },
            reply.startedAt,
            reply.savedAt,
            onScreen,
          );
          kept.push({ conversationId: reply.conversationId, id: reply.id });
        }
      })
      .immediate();
    return kept.map(({ conversationId, id }) => this.message(conversationId, id));
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
   * Conversations whose title or one message holds every word of the query (FTS5: case- and
   * accent-insensitive, "quoted phrases", -exclusions, word* prefixes; with `asYouType` the last
   * word is a prefix too). One hit per conversation, best first (BM25; a matching title counts
   * double), each with the best message's snippet and where the words are in it and in the title.
   */
  search(query: string, limit: number, options: { asYouType?: boolean } = {}): ConversationHit[] {
    const { match } = parseQuery(query, { asYouType: options.asYouType });
    if (!match) return [];
    try {
      return this.rankedHits(match, limit);
    } catch (error) {
      // parseQuery quotes every term, so this is not the person's syntax; say so rather than crash.
      throw new ElmwoodError(
        "INTERNAL",
        `The conversation search "${query}" could not run (${(error as Error).message}).`,
        "Try other words; if it keeps happening, restart Elmwood.",
        { cause: error },
      );
    }
  }

  private rankedHits(match: string, limit: number): ConversationHit[] {
    const { open, close } = SNIPPET_MARKS;
    // The best message of each conversation (bm25: lower is better), snippets only for those kept.
    const messages = this.db
      .prepare(
        "SELECT conversation_id, message_id, fts_rowid, rank FROM (" +
          "SELECT m.conversation_id, m.id AS message_id, chat_messages_fts.rowid AS fts_rowid, chat_messages_fts.rank AS rank, " +
          "ROW_NUMBER() OVER (PARTITION BY m.conversation_id ORDER BY chat_messages_fts.rank) AS n " +
          "FROM chat_messages_fts JOIN chat_search_keys k ON k.id = chat_messages_fts.rowid " +
          "JOIN chat_messages m ON m.id = substr(k.key, 3) WHERE chat_messages_fts MATCH ?" +
          ") WHERE n = 1 ORDER BY rank LIMIT ?",
      )
      .all(match, limit) as {
      conversation_id: string;
      message_id: string;
      fts_rowid: number;
      rank: number;
    }[];
    const titles = this.db
      .prepare(
        "SELECT substr(k.key, 3) AS conversation_id, chat_titles_fts.rank AS rank, " +
          `highlight(chat_titles_fts, 0, '${open}', '${close}') AS marked ` +
          "FROM chat_titles_fts JOIN chat_search_keys k ON k.id = chat_titles_fts.rowid " +
          "WHERE chat_titles_fts MATCH ? ORDER BY rank LIMIT ?",
      )
      .all(match, limit) as { conversation_id: string; rank: number; marked: string }[];

    const scored = new Map<string, { score: number; message?: (typeof messages)[number]; title?: string }>();
    for (const row of messages) scored.set(row.conversation_id, { score: -row.rank, message: row });
    for (const row of titles) {
      const entry = scored.get(row.conversation_id) ?? { score: 0 };
      scored.set(row.conversation_id, { ...entry, score: entry.score - 2 * row.rank, title: row.marked });
    }
    const snippetOf = this.db.prepare(
      `SELECT snippet(chat_messages_fts, 0, '${open}', '${close}', '…', 10) FROM chat_messages_fts ` +
        "WHERE chat_messages_fts MATCH ? AND rowid = ?",
    );
    const hits: (ConversationHit & { score: number })[] = [];
    for (const [conversationId, entry] of scored) {
      const record = this.get(conversationId);
      const title = entry.title === undefined ? undefined : parseSnippet(entry.title);
      let snippet = { text: "", highlights: [] as [number, number][] };
      if (entry.message) {
        // libsql binds JS numbers as REAL; FTS5 looks a rowid up only by an INTEGER.
        const rows = snippetOf.raw().all(match, BigInt(entry.message.fts_rowid)) as string[][];
        snippet = parseSnippet(rows[0]?.[0] ?? "");
      }
      hits.push({
        conversationId,
        title: record.title || UNTITLED,
        messageId: entry.message?.message_id ?? null,
        snippet: snippet.text,
        highlights: snippet.highlights,
        titleHighlights: title?.highlights ?? [],
        updatedAt: record.updatedAt,
        score: entry.score,
      });
    }
    hits.sort((a, b) => b.score - a.score || b.updatedAt - a.updatedAt);
    return hits.slice(0, limit).map(({ score: _score, ...hit }) => hit);
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
    interruption: m.interruption,
    siblingIds,
    siblingIndex: siblingIds.indexOf(m.id),
  };
}
