/**
 * The passages a grounded reply was given, numbered as it cites them: each opens to show the passage
 * as the model read it, and can be removed from the conversation's later turns.
 */
import type { CitedChunk } from "../../engine/api/contract.ts";
import { useGrounding, useStores } from "../stores/stores.tsx";
import { sourceAnchor } from "./citations.ts";

const fileName = (path: string) => path.split(/[\\/]/).pop() ?? path;

export function MessageSources({ messageId, sources }: { messageId: string; sources: CitedChunk[] }) {
  const { grounding } = useStores();
  const changed = useGrounding((s) => s.sources[messageId]);
  const list = changed ?? sources;
  if (!list.length) {
    return <p className="sources-none small">No passage of the attached documents matched this question.</p>;
  }
  return (
    <section className="message-sources" aria-label="Sources used">
      <h3 className="small">Sources</h3>
      <ol>
        {list.map((source) => (
          <li key={source.n} className={source.excluded ? "excluded" : undefined}>
            <details id={sourceAnchor(messageId, source.n)} tabIndex={-1} open={false}>
              <summary>
                <span className="source-number">[{source.n}]</span>{" "}
                <span title={source.path}>{fileName(source.path)}</span>
                {source.location ? <span className="muted"> · {source.location}</span> : null}
                {source.cited ? null : <span className="muted"> · not cited</span>}
                {source.excluded ? <span className="badge">Removed</span> : null}
              </summary>
              <p className="source-path small">
                <code>{source.path}</code>
              </p>
              <blockquote className="source-text">{source.text}</blockquote>
              {source.excluded ? (
                <p className="muted small">
                  Left out of the next replies. Regenerate this one to answer without it.
                </p>
              ) : (
                <button
                  type="button"
                  className="button subtle"
                  aria-label={`Remove source ${source.n}, ${fileName(source.path)}, from this conversation`}
                  onClick={() => void grounding.getState().exclude(messageId, source.n)}
                >
                  Don't use this again
                </button>
              )}
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}
