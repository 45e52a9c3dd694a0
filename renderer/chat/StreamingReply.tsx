/** The reply being written: its text so far, a caret while waiting, the speed as it goes. */

import { Markdown } from "../components/Markdown.tsx";
import { formatSpeed } from "../lib/format.ts";
import { useStatus } from "../stores/stores.tsx";
import { BranchSwitcher } from "./BranchSwitcher.tsx";
import { useChatModel } from "./chat-model.ts";
import { liveTokensPerSecond, type Streaming } from "./chat-reducer.ts";

export function StreamingReply({ streaming }: { streaming: Streaming }) {
  const speed = liveTokensPerSecond(streaming);
  const loadingModel = useStatus((s) => (s.status?.model.state === "loading" ? s.status.model.name : null));
  const waiting = streaming.text.length === 0;
  const remote = useChatModel()?.remote ?? null;
  return (
    <article className="message assistant streaming" aria-label="Elmwood is replying" aria-busy="true">
      <div className="bubble">
        {waiting ? (
          <p className="thinking">
            {streaming.stopping
              ? "Stopping…"
              : remote
                ? `Waiting for ${remote.host}…`
                : loadingModel
                  ? `Loading ${loadingModel}…`
                  : "Thinking…"}
          </p>
        ) : (
          <Markdown text={streaming.text} />
        )}
      </div>
      <footer className="message-footer">
        {streaming.messageId ? (
          <BranchSwitcher
            id={streaming.messageId}
            siblingIds={streaming.siblingIds}
            siblingIndex={streaming.siblingIds.length - 1}
            disabled
            onSwitch={() => {}}
          />
        ) : null}
        <span className="message-stats" data-testid="live-stats">
          {streaming.tokens} tokens{speed !== null ? ` · ${formatSpeed(speed)}` : ""}
        </span>
        {remote ? <span className="message-sent-to">sent to {remote.host}</span> : null}
      </footer>
    </article>
  );
}
