/**
 * Errors for people: every failure the engine reports carries a stable code (for the CLI's exit line,
 * the API's HTTP status and the UI's message) and a hint that says what to do next.
 */
export type ErrorCode =
  | "BAD_INPUT" // a request or argument that cannot be used as given
  | "NOT_FOUND" // a file, folder, model or record that does not exist
  | "CHECKPOINT" // a Hugging Face checkpoint that is malformed or mismatched
  | "MODEL" // a converted Elmwood model that is missing parts or is corrupt
  | "CONTEXT_OVERFLOW" // a prompt that does not fit the model's window
  | "PROVIDER" // an execution provider that cannot start
  | "CANCELLED" // work stopped by the user or an AbortSignal
  | "NETWORK" // a download or hub request that failed
  | "DISK" // not enough space, or a write that failed
  | "BUSY" // a queue that is full, a lock held by another process
  | "INTERNAL"; // a bug: the message says what we were doing

export class ElmwoodError extends Error {
  override readonly name = "ElmwoodError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** What the person can do about it; shown after the message. */
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** One line for a terminal or a toast: the message, then the way forward. */
  toLine(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

export function isElmwoodError(error: unknown): error is ElmwoodError {
  return error instanceof ElmwoodError;
}

/** The error that aborting work produces, whatever was running at the time. */
export function cancelled(what = "The operation"): ElmwoodError {
  return new ElmwoodError("CANCELLED", `${what} was cancelled.`);
}

/** Throws the standard cancellation error if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw cancelled(what);
}

/** Any thrown value as an ElmwoodError, keeping ours as they are. */
export function toElmwoodError(error: unknown, doing: string): ElmwoodError {
  if (error instanceof ElmwoodError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ElmwoodError("INTERNAL", `${doing} failed: ${message}`, undefined, { cause: error });
}
