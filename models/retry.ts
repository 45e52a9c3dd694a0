/**
 * Retrying network work: transient failures (dropped connections, stalls, 5xx, 429) are tried again
 * after an exponential backoff; everything else fails at once.
 */
import { cancelled, ElmwoodError } from "../engine/errors.ts";

/** A failure worth another attempt. Anything else thrown inside a retried call ends it. */
export class TransientError extends Error {
  override readonly name = "TransientError";
}

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Delay before the first retry; doubles each time. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, backoffMs: 1_000, maxBackoffMs: 30_000 };

export interface RetryNotice {
  /** 1 for the first retry. */
  attempt: number;
  retries: number;
  delayMs: number;
  reason: string;
}

/** Exponential backoff with half of it jittered, so many clients retrying at once spread out. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const full = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}

/** Resolves after `ms`, or rejects with the cancellation error as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled("The download"));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled("The download"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, throws something not transient, or the retries run out; the
 * last transient failure becomes a NETWORK error naming `what`.
 */
export async function withRetries<T>(
  what: string,
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  options: { signal?: AbortSignal; onRetry?: (notice: RetryNotice) => void } = {},
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      if (options.signal?.aborted) throw cancelled("The download");
      if (n >= policy.retries) {
        const tries = n + 1;
        throw new ElmwoodError(
          "NETWORK",
          `${what} failed after ${tries} attempt${tries === 1 ? "" : "s"}: ${error.message}`,
          "Check the network connection (and HF_ENDPOINT if set), then run the same pull again: it resumes where it stopped.",
          { cause: error },
        );
      }
      const delayMs = backoffDelay(policy, n + 1);
      options.onRetry?.({ attempt: n + 1, retries: policy.retries, delayMs, reason: error.message });
      await sleep(delayMs, options.signal);
    }
  }
}
