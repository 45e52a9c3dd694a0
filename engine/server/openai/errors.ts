/**
 * Failures in OpenAI's error shape, `{ error: { message, type, param, code } }`, with the status its
 * clients expect (their SDKs pick the exception class from the status alone).
 */
import { toErrorInfo } from "../../api/validate.ts";
import { isElmwoodError } from "../../errors.ts";
import { HttpProblem } from "../http-io.ts";
import { httpStatusFor } from "../status.ts";

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface OpenAiFailure {
  status: number;
  body: OpenAiErrorBody;
  headers: Record<string, string>;
}

function typeFor(status: number): string {
  if (status === 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

const CODE_FOR: Partial<Record<string, string>> = {
  CONTEXT_OVERFLOW: "context_length_exceeded",
  BUSY: "rate_limit_exceeded",
  CANCELLED: "cancelled",
  MODEL: "model_not_ready",
  PROVIDER: "model_not_ready",
};

export function openAiFailure(error: unknown, retryAfterSeconds = 1): OpenAiFailure {
  const info = toErrorInfo(error);
  const problem = error instanceof HttpProblem ? error : undefined;
  const status = problem?.status ?? (isElmwoodError(error) ? httpStatusFor(error.code) : 500);
  const headers: Record<string, string> = { ...problem?.extra.headers };
  if (status === 429 && !headers["Retry-After"]) headers["Retry-After"] = String(retryAfterSeconds);
  const message = info.hint ? `${info.message} ${info.hint}` : info.message;
  return {
    status,
    headers,
    body: {
      error: {
        message,
        type: typeFor(status),
        param: problem?.extra.param ?? null,
        code: problem?.extra.apiCode ?? CODE_FOR[info.code] ?? null,
      },
    },
  };
}
