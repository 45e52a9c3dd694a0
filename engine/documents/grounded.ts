/**
 * "Ask about these results": a question answered from the top search chunks only, each numbered so
 * the answer can cite them as [1], [2], and an explicit way out when they do not hold the answer.
 * As many chunks as fit the model's window go in, best first.
 */
import { ElmwoodError, throwIfAborted } from "../errors.ts";
import type { ChatMessage, Completion } from "./completion.ts";

export interface GroundingSource {
  path: string;
  location: string;
  text: string;
}

export interface GroundedAnswer {
  answer: string;
  /** The sources the answer cites, by their number in the prompt (1-based), in order of first citation. */
  citations: { n: number; source: GroundingSource }[];
  /** Numbers cited that were not given to the model (a made-up citation). */
  invalidCitations: number[];
  /** The model said the results do not contain the answer. */
  notFound: boolean;
  /** How many of the sources fitted into the prompt. */
  sourcesUsed: number;
}

/** The exact sentence the model is told to answer with when the sources are not enough. */
export const NOT_FOUND_SENTENCE = "The search results do not contain the answer.";

const SYSTEM =
  "You answer questions using only the numbered search results you are given. " +
  "After each statement, cite the results it comes from in square brackets, like [1] or [2][3]. " +
  `If the results do not contain the answer, reply exactly: "${NOT_FOUND_SENTENCE}" Do not use outside knowledge.`;

function sourceBlock(n: number, source: GroundingSource): string {
  const where = source.location ? `${source.path} (${source.location})` : source.path;
  return `[${n}] ${where}\n${source.text.trim()}`;
}

function messagesFor(question: string, blocks: string[]): ChatMessage[] {
  const results = blocks.length ? blocks.join("\n\n") : "(no results)";
  return [
    { role: "system", content: SYSTEM },
    { role: "user", content: `Search results:\n\n${results}\n\nQuestion: ${question.trim()}` },
  ];
}

/**
 * The prompt for a grounded answer, with as many sources as fit beside `maxNewTokens` of answer; the
 * first source is shortened if even it alone does not fit.
 */
export function buildGroundedPrompt(
  question: string,
  sources: readonly GroundingSource[],
  completion: Pick<Completion, "contextLength" | "countTokens">,
  options: { maxNewTokens?: number } = {},
): { messages: ChatMessage[]; sourcesUsed: number } {
  if (!question.trim())
    throw new ElmwoodError("BAD_INPUT", "The question is empty.", "Type a question about the results.");
  const budget = completion.contextLength - (options.maxNewTokens ?? 384);
  const fits = (blocks: string[]) => completion.countTokens(messagesFor(question, blocks)) <= budget;
  if (!fits([])) {
    throw new ElmwoodError(
      "CONTEXT_OVERFLOW",
      "The question is too long to leave room for any search result in the model's window.",
      "Ask a shorter question.",
    );
  }
  const blocks: string[] = [];
  for (const source of sources) {
    const block = sourceBlock(blocks.length + 1, source);
    if (fits([...blocks, block])) {
      blocks.push(block);
      continue;
    }
    if (blocks.length === 0) {
      // Shorten the best result until it fits: a part of it beats none at all.
      let text = source.text;
      while (text.length > 0 && !fits([sourceBlock(1, { ...source, text })]))
        text = text.slice(0, Math.floor(text.length * 0.8));
      if (text.length) blocks.push(sourceBlock(1, { ...source, text: `${text}…` }));
    }
    break;
  }
  return { messages: messagesFor(question, blocks), sourcesUsed: blocks.length };
}

/** The citation numbers in an answer: [1], [2][3], [1, 2] and [1-3] forms. */
export function parseCitations(
  answer: string,
  sourceCount: number,
): { cited: number[]; invalid: number[]; notFound: boolean } {
  const cited: number[] = [];
  const invalid: number[] = [];
  for (const match of answer.matchAll(/\[(\d+(?:\s*(?:,|–|-)\s*\d+)*)\]/g)) {
    for (const part of match[1].split(/\s*,\s*/)) {
      const [a, b] = part.split(/\s*[–-]\s*/).map(Number);
      for (let n = a; n <= (b ?? a) && n - a < 100; n++) {
        const list = n >= 1 && n <= sourceCount ? cited : invalid;
        if (!list.includes(n)) list.push(n);
      }
    }
  }
  const normalized = answer.toLowerCase().replace(/\s+/g, " ");
  const notFound = /(do|does) not contain (the|an|any) answer/.test(normalized);
  return { cited, invalid, notFound };
}

/** Asks the model, streaming its words through `onText`, and checks its citations against the sources. */
export async function askAboutResults(
  question: string,
  sources: readonly GroundingSource[],
  completion: Completion,
  options: { maxNewTokens?: number; signal?: AbortSignal; onText?: (delta: string) => void } = {},
): Promise<GroundedAnswer> {
  const maxNewTokens = options.maxNewTokens ?? 384;
  const { messages, sourcesUsed } = buildGroundedPrompt(question, sources, completion, { maxNewTokens });
  throwIfAborted(options.signal, "The answer");
  const answer = (
    await completion.complete(messages, { maxNewTokens, signal: options.signal, onText: options.onText })
  ).trim();
  throwIfAborted(options.signal, "The answer");
  const { cited, invalid, notFound } = parseCitations(answer, sourcesUsed);
  return {
    answer,
    citations: cited.map((n) => ({ n, source: sources[n - 1] })),
    invalidCitations: invalid,
    notFound: notFound || sourcesUsed === 0,
    sourcesUsed,
  };
}
