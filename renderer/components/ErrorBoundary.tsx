/** A view that throws shows a sentence and a way back instead of a blank window. */
import { Component, type ReactNode } from "react";

export class ErrorBoundary extends Component<
  { children: ReactNode; resetKey: string },
  { error: Error | null; resetKey: string }
> {
  override state = { error: null as Error | null, resetKey: this.props.resetKey };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(
    props: { resetKey: string },
    state: { error: Error | null; resetKey: string },
  ) {
    // Moving to another place clears the failure.
    return props.resetKey !== state.resetKey ? { error: null, resetKey: props.resetKey } : null;
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="notice notice-error page-error" role="alert">
        <div className="notice-text">
          <strong>This page stopped working.</strong>
          <p>{this.state.error.message}</p>
          <p className="hint">Open another place from the sidebar, or reload the window.</p>
        </div>
      </div>
    );
  }
}
