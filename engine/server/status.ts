/**
 * One table from the engine's error codes to HTTP statuses, shared by the contract routes and the
 * OpenAI-compatible routes so a failure means the same thing through either door.
 */
import type { ErrorCode } from "../errors.ts";

const STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  CONTEXT_OVERFLOW: 400,
  NOT_FOUND: 404,
  // The request was fine; the checkpoint it points at is not.
  CHECKPOINT: 422,
  // 409 rather than nginx's 499: the client is usually still there to read why.
  CANCELLED: 409,
  BUSY: 429,
  INTERNAL: 500,
  NETWORK: 502,
  MODEL: 503,
  PROVIDER: 503,
  DISK: 507,
};

export function httpStatusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}
