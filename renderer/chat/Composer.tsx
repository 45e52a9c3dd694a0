/**
 * The message box: Enter sends, Shift+Enter starts a new line, Escape stops a reply in flight. The Send
 * button turns into Stop while the model writes. The context meter sits beside it. What is typed is
 * handed to the model ahead of Send (usePrepareDraft), so the reply starts sooner.
 */
import { type FormEvent, type KeyboardEvent, useEffect, useMemo, useRef, useState } from "react";
import { SendIcon, StopIcon } from "../components/icons.tsx";
import { useChat, useSettings, useStatus, useUi } from "../stores/stores.tsx";
import { ContextMeter } from "./ContextMeter.tsx";
import { useChatModel } from "./chat-model.ts";
import { estimateContext } from "./context-meter.ts";
import { usePrepareDraft } from "./use-prepare-draft.ts";

const DEFAULT_WINDOW = 2048;
const DEFAULT_RESERVE = 512;

export function Composer() {
  const [text, setText] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);
  // Only whether a reply is streaming: the composer need not re-render for every token.
  const streaming = useChat((s) => s.streaming !== null);
  const send = useChat((s) => s.send);
  const stop = useChat((s) => s.stop);
  const prepare = useChat((s) => s.prepare);
  const messages = useChat((s) => s.messages);
  const meta = useChat((s) => s.meta);
  const draftSettings = useChat((s) => s.draftSettings);
  const defaults = useSettings((s) => s.settings);
  const loadedWindow = useStatus((s) => s.status?.model.contextLength ?? null);
  const model = useChatModel();
  // The window of the model this chat writes with; the loaded model's while that is not known.
  const contextLength = model?.contextLength ?? loadedWindow;
  const estimated = model?.remote != null;
  const focusRequest = useUi((s) => s.focusComposer);
  const readAhead = useSettings((s) => s.settings?.readAhead ?? true);
  usePrepareDraft(text, streaming, (draft) => {
    if (readAhead) void prepare(draft);
  });

  useEffect(() => {
    if (focusRequest > 0) input.current?.focus();
  }, [focusRequest]);

  const systemPrompt =
    meta?.settings.systemPrompt ?? draftSettings.systemPrompt ?? defaults?.systemPrompt ?? "";
  const reserve =
    meta?.settings.sampling.maxTokens ??
    draftSettings.sampling?.maxTokens ??
    defaults?.sampling.maxTokens ??
    DEFAULT_RESERVE;
  const estimate = useMemo(
    () =>
      estimateContext(messages, {
        draft: text,
        systemPrompt,
        limit: contextLength ?? DEFAULT_WINDOW,
        reserve,
        estimated,
      }),
    [messages, text, systemPrompt, contextLength, reserve, estimated],
  );

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (streaming || !text.trim()) return;
    void send(text);
    setText("");
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape" && streaming) {
      event.preventDefault();
      void stop();
    }
  };

  return (
    <form className="composer" onSubmit={submit}>
      <div className="composer-row">
        <textarea
          ref={input}
          aria-label="Message"
          placeholder="Message Elmwood (Enter to send, Shift+Enter for a new line)"
          value={text}
          rows={Math.min(8, Math.max(1, text.split("\n").length))}
          maxLength={32_000}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        {streaming ? (
          <button type="button" className="button send stop" aria-label="Stop" onClick={() => void stop()}>
            <StopIcon />
            <span>Stop</span>
          </button>
        ) : (
          <button type="submit" className="button primary send" aria-label="Send" disabled={!text.trim()}>
            <SendIcon />
            <span>Send</span>
          </button>
        )}
      </div>
      <ContextMeter estimate={estimate} />
    </form>
  );
}
