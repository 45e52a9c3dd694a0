/**
 * A door may answer with the contract's envelope ({ ok, value } / { ok: false, error }) or with the
 * value itself; both mean the same to the views.
 */
import { CallError, isErrorInfo } from "./errors.ts";

export function unwrapResult(result: unknown): unknown {
  if (typeof result === "object" && result !== null && "ok" in result) {
    const envelope = result as { ok: unknown; value?: unknown; error?: unknown };
    if (envelope.ok === true && "value" in envelope) return envelope.value;
    if (envelope.ok === false && isErrorInfo(envelope.error)) throw new CallError(envelope.error);
  }
  return result;
}
