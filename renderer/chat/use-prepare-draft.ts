/**
 * Hands the message being typed to the model ahead of Send (chat.prepare), so the reply's first
 * token waits only for the last few words. While the person types, the draft goes at most once
 * every PREPARE_EVERY_MS, and the last one always goes once they pause; right after a reply finishes it
 * goes once more, since the conversation grew by that reply. Opening a conversation alone prepares
 * nothing: reading an old chat should not keep the processor busy.
 */
import { useEffect, useRef } from "react";

export const PREPARE_EVERY_MS = 500;

export function usePrepareDraft(draft: string, streaming: boolean, prepare: (draft: string) => void): void {
  const last = useRef(Number.NEGATIVE_INFINITY);
  const wasStreaming = useRef(streaming);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef({ draft, prepare });
  latest.current = { draft, prepare };

  useEffect(() => {
    const finished = wasStreaming.current && !streaming;
    wasStreaming.current = streaming;
    clearTimeout(timer.current);
    if (streaming || (draft === "" && !finished)) return;
    const wait = Math.max(0, last.current + PREPARE_EVERY_MS - performance.now());
    timer.current = setTimeout(() => {
      last.current = performance.now();
      latest.current.prepare(latest.current.draft);
    }, wait);
  }, [draft, streaming]);

  useEffect(() => () => clearTimeout(timer.current), []);
}
