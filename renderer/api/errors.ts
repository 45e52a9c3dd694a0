/**
 * Failures as the renderer shows them: the contract's ErrorInfo (code, what happened, what to do).
 * Anything else that escapes a door (a dropped connection, a bug) is turned into the same shape, so a
 * view never has to show a stack trace.
 */
import type { ErrorInfo } from "../../engine/api/contract.ts";
import { ERROR_CODES } from "../../engine/api/names.ts";

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** A call that the engine refused or that failed on the way: carries the engine's ErrorInfo. */
export class CallError extends Error {
  override readonly name = "CallError";
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

export function isErrorInfo(value: unknown): value is ErrorInfo {
  if (typeof value !== "object" || value === null) return false;
  const { code, message, hint } = value as Record<string, unknown>;
  return (
    typeof code === "string" &&
    CODES.has(code) &&
    typeof message === "string" &&
    (hint === undefined || typeof hint === "string")
  );
}

/** Any thrown value as ErrorInfo; unknown failures read as INTERNAL with a way forward. */
export function asErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof CallError) return error.info;
  if (isErrorInfo(error)) return error;
  if (typeof error === "object" && error !== null && isErrorInfo((error as { error?: unknown }).error)) {
    return (error as { error: ErrorInfo }).error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: "INTERNAL",
    message: `Something went wrong: ${message}`,
    hint: "Try again; if it keeps happening, restart Elmwood.",
  };
}
