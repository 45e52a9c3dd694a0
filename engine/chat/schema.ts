/**
 * The chat tables in the profile database. Messages form a tree per conversation (parent_id), so an
 * edit or a regenerated reply is a sibling and every branch stays. An assistant message keeps the
 * token ids it was generated as, so the next turn's prompt extends the last one exactly.
 */
import { registerMigrations } from "../store/database.ts";

export const CHAT_FEATURE = "chat";

registerMigrations(CHAT_FEATURE, [
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
]);
