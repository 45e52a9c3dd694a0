/**
 * Progress of library work (pull, import, convert) as one typed union, so the CLI, the service and
 * the UI forward the same events without translating them.
 */

export type LibraryProgress =
  /** Waiting for another process that holds the lock on the same model or download. */
  | { type: "wait"; what: string; holder: string }
  /** Asking the hub which files make up the model. */
  | { type: "resolve"; repoId: string; revision: string }
  /** The files to fetch; `presentBytes` are already on disk from an earlier, interrupted pull. */
  | {
      type: "plan";
      repoId: string;
      commit: string;
      files: Array<{ path: string; bytes: number; presentBytes: number }>;
      totalBytes: number;
      presentBytes: number;
    }
  | {
      type: "download";
      file: string;
      fileBytes: number;
      fileTotal: number;
      /** Bytes of the whole model on disk so far, including what an earlier pull left. */
      bytes: number;
      totalBytes: number;
      /** Recent transfer rate, averaged over the last few seconds. */
      bytesPerSecond: number;
      /** Seconds left at the current rate; null until a rate is known. */
      etaSeconds: number | null;
    }
  | { type: "retry"; file?: string; attempt: number; retries: number; delayMs: number; reason: string }
  /** A file checked against the hub's size and hash, and kept. */
  | { type: "verified"; file: string; bytes: number; check: "sha256" | "git-sha1" | "size" }
  /** Checking a converted model or a checkpoint folder before use. */
  | { type: "validate"; dir: string }
  | { type: "convert"; phase: string; done: number; total: number }
  | { type: "done"; name: string; dir: string };

export type ProgressListener = (event: LibraryProgress) => void;
