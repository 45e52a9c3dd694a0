/**
 * Chat grounded in documents, in the profile database beside the chats: what each conversation draws
 * on, the passages each reply was given (numbered as it cites them), and the passages a person took
 * out of a conversation. Rows go with their conversation (ON DELETE CASCADE). A reply's passages are
 * written before the reply starts, under the id the reply will be saved with, so nothing has to be
 * written together with the reply; those of a reply that was never saved are simply never read.
 */
import "../chat/schema.ts";
import { registerMigrations } from "../store/database.ts";

export const GROUNDING_FEATURE = "grounding";

registerMigrations(GROUNDING_FEATURE, [
  `
  CREATE TABLE grounding_attachments (
    conversation_id TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('folder', 'file')),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, path)
  );
  CREATE TABLE grounding_sources (
    message_id TEXT NOT NULL,          -- the assistant reply (saved after these rows, or never)
    conversation_id TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,                -- the number the reply cites it by
    chunk_id INTEGER,
    path TEXT NOT NULL,
    location TEXT NOT NULL,
    snippet TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (message_id, n)
  );
  CREATE INDEX grounding_sources_conversation ON grounding_sources (conversation_id);
  CREATE TABLE grounding_exclusions (
    conversation_id TEXT NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    location TEXT NOT NULL,
    PRIMARY KEY (conversation_id, path, location)
  );
  `,
]);
