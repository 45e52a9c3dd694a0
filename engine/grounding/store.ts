/**
 * Reads and writes of chat grounded in documents: a conversation's attachments, the passages each
 * reply was given, and the passages a person took out.
 */
import type { CitedChunk, ConversationAttachment } from "../api/contract.ts";
import { parseCitations } from "../documents/grounded.ts";
import "../documents/schema.ts";
import type { Db } from "../store/database.ts";
import "./schema.ts";

export interface SourceRecord {
  n: number;
  chunkId: number | null;
  path: string;
  location: string;
  snippet: string;
  text: string;
}

interface SourceRow {
  message_id: string;
  n: number;
  chunk_id: number | null;
  live_chunk: number | null;
  path: string;
  location: string;
  snippet: string;
  text: string;
  excluded: number;
}

const key = (path: string, location: string) => `${path}\u0000${location}`;

export class GroundingStore {
  constructor(readonly db: Db) {}

  attachments(conversationId: string): ConversationAttachment[] {
    return (
      this.db
        .prepare(
          "SELECT path, kind, added_at FROM grounding_attachments WHERE conversation_id = ? ORDER BY added_at, path",
        )
        .all(conversationId) as { path: string; kind: "folder" | "file"; added_at: number }[]
    ).map((r) => ({ path: r.path, kind: r.kind, addedAt: r.added_at }));
  }

  attach(conversationId: string, path: string, kind: "folder" | "file", now = Date.now()): void {
    this.db
      .prepare(
        "INSERT INTO grounding_attachments (conversation_id, path, kind, added_at) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (conversation_id, path) DO UPDATE SET kind = excluded.kind",
      )
      .run(conversationId, path, kind, now);
  }

  detach(conversationId: string, path: string): boolean {
    return (
      this.db
        .prepare("DELETE FROM grounding_attachments WHERE conversation_id = ? AND path = ?")
        .run(conversationId, path).changes > 0
    );
  }

  /** The passages taken out of this conversation, as path + location keys. */
  exclusions(conversationId: string): Set<string> {
    const rows = this.db
      .prepare("SELECT path, location FROM grounding_exclusions WHERE conversation_id = ?")
      .all(conversationId) as { path: string; location: string }[];
    return new Set(rows.map((r) => key(r.path, r.location)));
  }

  isExcluded(exclusions: Set<string>, path: string, location: string): boolean {
    return exclusions.has(key(path, location));
  }

  exclude(conversationId: string, path: string, location: string): void {
    this.db
      .prepare(
        "INSERT OR IGNORE INTO grounding_exclusions (conversation_id, path, location) VALUES (?, ?, ?)",
      )
      .run(conversationId, path, location);
  }

  /** Records the passages a reply is given, replacing any under the same id, in one transaction. */
  saveSources(conversationId: string, messageId: string, sources: readonly SourceRecord[]): void {
    const insert = this.db.prepare(
      "INSERT INTO grounding_sources (message_id, conversation_id, n, chunk_id, path, location, snippet, text) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM grounding_sources WHERE message_id = ?").run(messageId);
      for (const s of sources) {
        insert.run(messageId, conversationId, s.n, s.chunkId, s.path, s.location, s.snippet, s.text);
      }
    })();
  }

  source(messageId: string, n: number): SourceRecord | undefined {
    const row = this.db
      .prepare(
        "SELECT n, chunk_id, path, location, snippet, text FROM grounding_sources WHERE message_id = ? AND n = ?",
      )
      .all(messageId, n)[0] as Omit<SourceRow, "message_id" | "live_chunk" | "excluded"> | undefined;
    return (
      row && {
        n: row.n,
        chunkId: row.chunk_id,
        path: row.path,
        location: row.location,
        snippet: row.snippet,
        text: row.text,
      }
    );
  }

  /**
   * The passages of every grounded reply of a conversation, by message id, each marked with whether
   * the reply (`contentOf`) cites it, whether it was taken out, and whether it is still in the index.
   */
  sourcesByMessage(
    conversationId: string,
    contentOf: (messageId: string) => string | undefined,
  ): Map<string, CitedChunk[]> {
    const rows = this.db
      .prepare(
        "SELECT s.message_id, s.n, s.chunk_id, c.id AS live_chunk, s.path, s.location, s.snippet, s.text, " +
          "EXISTS (SELECT 1 FROM grounding_exclusions e WHERE e.conversation_id = s.conversation_id " +
          "AND e.path = s.path AND e.location = s.location) AS excluded " +
          "FROM grounding_sources s LEFT JOIN doc_chunks c ON c.id = s.chunk_id AND c.text = s.text " +
          "WHERE s.conversation_id = ? ORDER BY s.message_id, s.n",
      )
      .all(conversationId) as SourceRow[];
    const byMessage = new Map<string, SourceRow[]>();
    for (const row of rows) {
      const list = byMessage.get(row.message_id) ?? [];
      list.push(row);
      byMessage.set(row.message_id, list);
    }
    const out = new Map<string, CitedChunk[]>();
    for (const [messageId, list] of byMessage) {
      const content = contentOf(messageId);
      if (content === undefined) continue; // a reply that was never saved
      const { cited } = parseCitations(content, list.length);
      out.set(
        messageId,
        list.map((r) => ({
          n: r.n,
          chunkId: r.live_chunk,
          path: r.path,
          location: r.location,
          snippet: r.snippet,
          text: r.text,
          cited: cited.includes(r.n),
          excluded: r.excluded === 1,
        })),
      );
    }
    return out;
  }
}
