/** An engine failure for people: what happened, what to do, and buttons that do it. */
import type { ReactNode } from "react";
import type { ErrorInfo } from "../../engine/api/contract.ts";

export function ErrorNotice({
  error,
  title,
  actions,
  onDismiss,
}: {
  error: ErrorInfo;
  title?: string;
  actions?: ReactNode;
  onDismiss?: () => void;
}) {
  return (
    <div className="notice notice-error" role="alert">
      <div className="notice-text">
        {title ? <strong>{title}</strong> : null}
        <p>{error.message}</p>
        {error.hint ? <p className="hint">{error.hint}</p> : null}
      </div>
      <div className="notice-actions">
        {actions}
        {onDismiss ? (
          <button type="button" className="button subtle" onClick={onDismiss}>
            Dismiss
          </button>
        ) : null}
      </div>
    </div>
  );
}
