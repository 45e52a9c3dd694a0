/**
 * What a reply cut short says about why, in one place so every door words it the same: kept with
 * the message (the contract's Interruption), or as the error of a reply that had not begun.
 */
import type { Interruption } from "../api/contract.ts";
import { ElmwoodError } from "../errors.ts";

export type InterruptionCause = Interruption["cause"];

function what(cause: InterruptionCause, model: string | null): string {
  switch (cause) {
    case "crash":
      return "Elmwood stopped";
    case "quit":
      return "Elmwood was closed";
    case "model-switched":
      return `the model was switched to ${model ?? "another one"}`;
    case "model-reloaded":
      return "the model was restarted with new device settings";
    case "model-unloaded":
      return "the model was unloaded";
    case "model-removed":
      return `${model ?? "the model"} was removed`;
  }
}

/** `model`: the model switched to, or the one removed. */
export function interruption(cause: InterruptionCause, model: string | null = null): Interruption {
  return {
    cause,
    model,
    message: `Interrupted: ${what(cause, model)} while this reply was being written. What it wrote is kept.`,
  };
}

/** The error for a reply that was stopped for `reason` before it wrote anything. */
export function notBegun(reason: Interruption): ElmwoodError {
  return new ElmwoodError(
    "CANCELLED",
    `The reply was not written: ${what(reason.cause, reason.model)} before it began.`,
    "Send the message again (Try again) to have it written now.",
  );
}

/** The error for a completion or a summary that `reason` cut short (they keep nothing, so they fail). */
export function cutShort(reason: Interruption, work: string): ElmwoodError {
  return new ElmwoodError(
    "CANCELLED",
    `The ${work} was cut short: ${what(reason.cause, reason.model)} while it was being written.`,
    "Try again now.",
  );
}
