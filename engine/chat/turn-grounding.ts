/**
 * The one step the chat engine takes for chat grounded in documents: before a reply is written, the
 * question may be given passages from the documents the conversation draws on. The engine only asks;
 * what is retrieved and how it is recorded lives in engine/grounding/.
 */
export interface TurnGrounding {
  /**
   * The question as the model should read it, with the passages that best answer it and fit beside
   * the rest of the prompt (`fits(content)` says whether a candidate does), or null when the
   * conversation draws on no documents. The passages are recorded under `replyId`, the id the reply
   * will be saved with.
   */
  ground(turn: {
    conversationId: string;
    replyId: string;
    question: string;
    fits: (content: string) => boolean;
  }): Promise<string | null>;
  /** Whether the conversation draws on documents (so its questions are rewritten when sent). */
  draws(conversationId: string): boolean;
}
