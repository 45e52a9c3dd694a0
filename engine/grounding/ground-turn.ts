/**
 * The retrieval step of a grounded chat turn: search the conversation's folders and files for the
 * question (by meaning and by words), leave out what the person removed, and put as many of the best
 * passages beside the question as the model's window holds next to the history and the reply. The
 * passages are numbered so the reply can cite them as [1], [2], and recorded under the reply's id.
 */
import type { TurnGrounding } from "../chat/turn-grounding.ts";
import type { SearchHit } from "../documents/search.ts";
import type { GroundingStore, SourceRecord } from "./store.ts";

/** Finds passages for a question among the given folders and files, best first. */
export type PassageSearch = (question: string, scope: string[], limit: number) => Promise<SearchHit[]>;

/** Passages considered per turn; the window decides how many of them go in. */
const CANDIDATES = 12;
const MAX_SOURCES = 8;
const SNIPPET_WORDS = 40;

const INSTRUCTION =
  "Answer my question using the numbered passages from my documents below. After each statement " +
  "that comes from a passage, cite it in square brackets, like [1] or [2][3]. If the passages do " +
  "not contain the answer, say that my documents do not answer it.";

const NONE =
  "None of the documents attached to this conversation has a passage about this question; say so " +
  "if you cannot answer it without them.";

export function groundedQuestion(question: string, sources: readonly SourceRecord[]): string {
  if (!sources.length) return `${NONE}\n\nQuestion: ${question}`;
  const blocks = sources.map((s) => {
    const where = s.location ? `${s.path} (${s.location})` : s.path;
    return `[${s.n}] ${where}\n${s.text.trim()}`;
  });
  return `${INSTRUCTION}\n\n${blocks.join("\n\n")}\n\nQuestion: ${question}`;
}

function snippetOf(text: string): string {
  const words = text.split(/\s+/).filter(Boolean);
  return words.slice(0, SNIPPET_WORDS).join(" ") + (words.length > SNIPPET_WORDS ? " …" : "");
}

export class ConversationGrounding implements TurnGrounding {
  constructor(
    private readonly store: GroundingStore,
    private readonly search: PassageSearch,
  ) {}

  draws(conversationId: string): boolean {
    return this.store.attachments(conversationId).length > 0;
  }

  async ground(turn: {
    conversationId: string;
    replyId: string;
    question: string;
    fits: (content: string) => boolean;
  }): Promise<string | null> {
    const scope = this.store.attachments(turn.conversationId).map((a) => a.path);
    if (!scope.length) return null;
    const excluded = this.store.exclusions(turn.conversationId);
    const hits = (await this.search(turn.question, scope, CANDIDATES)).filter(
      (h) => !this.store.isExcluded(excluded, h.path, h.location),
    );
    const chosen: SourceRecord[] = [];
    for (const hit of hits) {
      if (chosen.length >= MAX_SOURCES) break;
      const source: SourceRecord = {
        n: chosen.length + 1,
        chunkId: hit.chunkId,
        path: hit.path,
        location: hit.location,
        snippet: snippetOf(hit.text),
        text: hit.text,
      };
      if (turn.fits(groundedQuestion(turn.question, [...chosen, source]))) chosen.push(source);
      else if (!chosen.length) {
        // The best passage alone is too long for what is left of the window: a part of it beats none.
        let text = hit.text;
        while (text.length > 200 && !turn.fits(groundedQuestion(turn.question, [{ ...source, text }])))
          text = text.slice(0, Math.floor(text.length * 0.75));
        if (turn.fits(groundedQuestion(turn.question, [{ ...source, text: `${text}…` }])))
          chosen.push({ ...source, text: `${text}…` });
        else break;
      }
    }
    const content = groundedQuestion(turn.question, chosen);
    // Nothing fits at all (a long history): the question goes as typed, and the reply says so by
    // having no sources; the window check that follows reports an over-long conversation.
    if (!turn.fits(content)) {
      this.store.saveSources(turn.conversationId, turn.replyId, []);
      return turn.question;
    }
    this.store.saveSources(turn.conversationId, turn.replyId, chosen);
    return content;
  }
}
