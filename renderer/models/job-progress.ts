/**
 * A pull or an import as a person follows it: which step it is on, how far along, how fast, and how it
 * ended. Built up from the engine's models.progress events, one at a time.
 */
import type { ErrorInfo, EventPayload, LibraryProgress, ModelInfo } from "../../engine/api/contract.ts";

export type JobPhase =
  | "starting"
  | "waiting"
  | "downloading"
  | "verifying"
  | "converting"
  | "finished"
  | "paused"
  | "cancelled"
  | "failed";

export interface ModelJob {
  jobId: string;
  kind: "pull" | "import";
  /** The repository or folder. */
  target: string;
  phase: JobPhase;
  /** What the engine is doing right now, in words. */
  detail: string;
  bytes: number;
  totalBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  convert: { phase: string; done: number; total: number } | null;
  model: ModelInfo | null;
  /** The name it was installed under (an OpenELM model or the embedding model). */
  installed: string | null;
  error: ErrorInfo | null;
}

export function newJob(jobId: string, kind: ModelJob["kind"], target: string): ModelJob {
  return {
    jobId,
    kind,
    target,
    phase: "starting",
    detail: kind === "pull" ? "Asking the hub for the files" : "Reading the folder",
    bytes: 0,
    totalBytes: 0,
    bytesPerSecond: 0,
    etaSeconds: null,
    convert: null,
    model: null,
    installed: null,
    error: null,
  };
}

export function isActive(job: ModelJob): boolean {
  return !["finished", "paused", "cancelled", "failed"].includes(job.phase);
}

/**
 * How a job that ended without a model ended. `requested` is what the person asked for: after
 * Pause or Cancel the engine reports CANCELLED, which is not a failure to them.
 */
function endedWith(error: ErrorInfo, requested: "pause" | "cancel" | null): JobPhase {
  if (error.code !== "CANCELLED") return "failed";
  return requested === "pause" ? "paused" : "cancelled";
}

export function applyProgress(
  job: ModelJob,
  progress: LibraryProgress,
  requested: "pause" | "cancel" | null = null,
): ModelJob {
  switch (progress.type) {
    case "wait":
      return {
        ...job,
        phase: "waiting",
        detail: `Waiting for ${progress.holder} to finish with ${progress.what}`,
      };
    case "resolve":
      return { ...job, detail: `Found ${progress.repoId} at ${progress.revision}` };
    case "plan":
      return {
        ...job,
        phase: "downloading",
        detail: `${progress.files.length} files to fetch`,
        bytes: progress.presentBytes,
        totalBytes: progress.totalBytes,
      };
    case "download":
      return {
        ...job,
        phase: "downloading",
        detail: `Downloading ${progress.file}`,
        bytes: progress.bytes,
        totalBytes: progress.totalBytes,
        bytesPerSecond: progress.bytesPerSecond,
        etaSeconds: progress.etaSeconds,
      };
    case "retry":
      return {
        ...job,
        detail: `Retrying (${progress.attempt} of ${progress.retries}) after: ${progress.reason}`,
      };
    case "verified":
      return { ...job, phase: "verifying", detail: `Checked ${progress.file}` };
    case "validate":
      return { ...job, phase: "verifying", detail: "Checking the model" };
    case "convert":
      return {
        ...job,
        phase: "converting",
        detail: `Converting: ${progress.phase}`,
        convert: { phase: progress.phase, done: progress.done, total: progress.total },
      };
    case "done":
      return { ...job, detail: `Installed as ${progress.name}` };
    case "finished":
      return {
        ...job,
        phase: "finished",
        detail: `Installed as ${progress.model.name}`,
        model: progress.model,
        installed: progress.model.name,
      };
    case "finished-embedding":
      return {
        ...job,
        phase: "finished",
        detail: `Installed ${progress.model.name}: search now finds passages by meaning`,
        installed: progress.model.name,
      };
    case "failed":
      return { ...job, phase: endedWith(progress.error, requested), error: progress.error };
  }
}

/** A job from its events alone (started in another window, or before a reload). */
export function jobFromEvent(event: EventPayload<"models.progress">): ModelJob {
  return applyProgress(newJob(event.jobId, event.kind, event.target), event.progress);
}

/** 0..1 for the bar: bytes while downloading, steps while converting; null when unknown. */
export function jobFraction(job: ModelJob): number | null {
  if (job.phase === "finished") return 1;
  if (job.phase === "converting" && job.convert && job.convert.total > 0) {
    return Math.min(1, job.convert.done / job.convert.total);
  }
  if (job.totalBytes > 0) return Math.min(1, job.bytes / job.totalBytes);
  return null;
}
