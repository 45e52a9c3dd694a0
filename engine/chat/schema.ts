/**
 * The chat tables in the profile database. Messages form a tree per conversation (parent_id), so an
 * edit or a regenerated reply is a sibling and every branch stays. An assistant message keeps the
 * token ids it was generated as, so the next turn's prompt extends the last one exactly.
 *
 * Search: every message and every title is mirrored into an FTS5 table by triggers, so each write
 * path (a new message, a rename, the cascade from a deleted conversation) keeps the index in step in
 * the same transaction. FTS5 needs integer rowids and ours are text ids (and a rowid that is not an
 * INTEGER PRIMARY KEY may change on VACUUM), so chat_search_keys gives each one a stable integer.
 *
 * A reply being written lives in chat_replies_in_progress, saved about every second, until it is
 * finished and becomes a message; one left behind by a process that died is kept as an interrupted
 * message when Elmwood next starts.
 */
import { registerMigrations } from "../store/database.ts";

export const CHAT_FEATURE = "chat";

/** Append only: index i is schema version i + 1 (the tests replay the first ones on an old profile). */
export const CHAT_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE chat_conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    system_prompt TEXT NOT NULL DEFAULT '',
    sampling TEXT NOT NULL,          -- JSON: the contract's Sampling
    model TEXT,                      -- NULL: the default model when sending
    active_leaf_id TEXT,             -- the branch on screen
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX chat_conversations_updated ON chat_conversations (updated_at DESC);
  CREATE TABLE chat_messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES chat_messages(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,            -- creation order inside the conversation (siblings sort by it)
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    model TEXT,
    template TEXT,                   -- the chat template family the tokens belong to
    tokens TEXT,                     -- JSON array of generated token ids
    stats TEXT,                      -- JSON: the contract's MessageStats
    created_at INTEGER NOT NULL
  );
  CREATE INDEX chat_messages_tree ON chat_messages (conversation_id, parent_id, seq);
  `,
  `
  CREATE TABLE chat_search_keys (
    id INTEGER PRIMARY KEY,          -- the rowid in chat_messages_fts or chat_titles_fts
    key TEXT NOT NULL UNIQUE         -- 'm:' || message id, or 'c:' || conversation id
  );
  CREATE VIRTUAL TABLE chat_messages_fts USING fts5(
    content, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
  );
  CREATE VIRTUAL TABLE chat_titles_fts USING fts5(
    title, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
  );
  CREATE TRIGGER chat_messages_search_ai AFTER INSERT ON chat_messages BEGIN
    INSERT INTO chat_search_keys (key) VALUES ('m:' || new.id);
    INSERT INTO chat_messages_fts (rowid, content)
      SELECT id, new.content FROM chat_search_keys WHERE key = 'm:' || new.id;
  END;
  CREATE TRIGGER chat_messages_search_au AFTER UPDATE OF content ON chat_messages BEGIN
    UPDATE chat_messages_fts SET content = new.content
      WHERE rowid = (SELECT id FROM chat_search_keys WHERE key = 'm:' || new.id);
  END;
  CREATE TRIGGER chat_messages_search_ad AFTER DELETE ON chat_messages BEGIN
    DELETE FROM chat_messages_fts WHERE rowid = (SELECT id FROM chat_search_keys WHERE key = 'm:' || old.id);
    DELETE FROM chat_search_keys WHERE key = 'm:' || old.id;
  END;
  CREATE TRIGGER chat_titles_search_ai AFTER INSERT ON chat_conversations BEGIN
    INSERT INTO chat_search_keys (key) VALUES ('c:' || new.id);
    INSERT INTO chat_titles_fts (rowid, title)
      SELECT id, new.title FROM chat_search_keys WHERE key = 'c:' || new.id;
  END;
  CREATE TRIGGER chat_titles_search_au AFTER UPDATE OF title ON chat_conversations BEGIN
    UPDATE chat_titles_fts SET title = new.title
      WHERE rowid = (SELECT id FROM chat_search_keys WHERE key = 'c:' || new.id);
  END;
  CREATE TRIGGER chat_titles_search_ad AFTER DELETE ON chat_conversations BEGIN
    DELETE FROM chat_titles_fts WHERE rowid = (SELECT id FROM chat_search_keys WHERE key = 'c:' || old.id);
    DELETE FROM chat_search_keys WHERE key = 'c:' || old.id;
  END;
  -- What was stored before search existed.
  INSERT INTO chat_search_keys (key) SELECT 'c:' || id FROM chat_conversations;
  INSERT INTO chat_titles_fts (rowid, title)
    SELECT k.id, c.title FROM chat_conversations c JOIN chat_search_keys k ON k.key = 'c:' || c.id;
  INSERT INTO chat_search_keys (key) SELECT 'm:' || id FROM chat_messages ORDER BY conversation_id, seq;
  INSERT INTO chat_messages_fts (rowid, content)
    SELECT k.id, m.content FROM chat_messages m JOIN chat_search_keys k ON k.key = 'm:' || m.id;
  `,
  `
  -- JSON: the contract's Interruption, for a reply that ended before it was finished (not by Stop).
  ALTER TABLE chat_messages ADD COLUMN interruption TEXT;
  CREATE TABLE chat_replies_in_progress (
    id TEXT PRIMARY KEY,             -- the id the assistant message will have
    conversation_id TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    parent_id TEXT NOT NULL REFERENCES chat_messages(id) ON DELETE CASCADE,
    model TEXT,
    template TEXT,
    content TEXT NOT NULL DEFAULT '',
    tokens TEXT NOT NULL DEFAULT '[]',  -- JSON array of the token ids generated so far
    owner TEXT NOT NULL,             -- "<pid>:<instance>" of the process writing it
    started_at INTEGER NOT NULL,
    saved_at INTEGER NOT NULL
  );
  CREATE INDEX chat_replies_in_progress_conversation ON chat_replies_in_progress (conversation_id);
  `,
];

registerMigrations(CHAT_FEATURE, CHAT_MIGRATIONS);
