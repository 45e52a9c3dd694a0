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
    case "connection-lost":
      return `the connection to ${model ?? "the remote engine"} was lost`;
    case "engine-failed":
      return `${model ?? "the remote engine"} sent a reply Elmwood could not read`;
    case "engine-removed":
      return `the engine of ${model ?? "this model"} was removed`;
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

/** A remote engine's reply that broke off, saying why in the words of the failure (`why`). */
export function brokeOff(
  cause: "connection-lost" | "engine-failed",
  host: string,
  why: string,
): Interruption {
  return {
    cause,
    model: host,
    message: `Interrupted while this reply was being written: ${why} What it wrote is kept.`,
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
