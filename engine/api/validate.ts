/**
 * The check every door runs before a call reaches the service: the name must be in the contract and
 * the input must match its schema. A refusal names the field and says why, in one ElmwoodError.
 */
import type { z } from "zod";
import { ElmwoodError, isElmwoodError } from "../errors.ts";
import { type CallName, calls, type ErrorInfo, isCallName, type ValidInput } from "./contract.ts";

/** "sampling.temperature", "messages[2].content"; "input" for the whole value. */
function fieldName(path: readonly PropertyKey[]): string {
  let name = "";
  for (const key of path) {
    if (typeof key === "number") name += `[${key}]`;
    else name += name ? `.${String(key)}` : String(key);
  }
  return name || "input";
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.length ? ` in ${fieldName(issue.path)}` : "";
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}${where}`;
  }
  if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) {
    return `'${fieldName(issue.path)}' is required`;
  }
  return `'${fieldName(issue.path)}': ${issue.message.replace(/^Invalid input: /, "")}`;
}

/** The call's input, parsed (defaults filled in), or BAD_INPUT naming the first wrong field. */
export function validateCall<N extends CallName>(name: N, input: unknown): ValidInput<N>;
export function validateCall(name: string, input: unknown): ValidInput<CallName>;
export function validateCall(name: string, input: unknown): unknown {
  if (!isCallName(name)) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `There is no call named '${String(name).slice(0, 80)}'.`,
      "Check the name against the API contract (engine/api/contract.ts).",
    );
  }
  // A call without parameters may be sent with no input at all.
  const parsed = calls[name].input.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new ElmwoodError(
    "BAD_INPUT",
    `Invalid input for ${name}: ${describeIssue(issues[0])}${more}.`,
    "Fix that field and try again.",
  );
}

/** Any thrown value as the error envelope that crosses IPC and HTTP; bugs become INTERNAL. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (isElmwoodError(error)) {
    return error.hint === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, hint: error.hint };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: "INTERNAL",
    message: `Something went wrong inside Elmwood: ${message}`,
    hint: "Try again; if it keeps happening, restart Elmwood.",
  };
}

/** The envelope back as an ElmwoodError, on the receiving side of a door. */
export function fromErrorInfo(info: ErrorInfo): ElmwoodError {
  return new ElmwoodError(info.code, info.message, info.hint);
}
