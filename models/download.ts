/**
 * Downloads the files of a checkpoint that the engine needs into one folder, resumably.
 *
 * On disk a file is either `<name>.part` (incomplete or unverified; its length is how far we got)
 * or `<name>` (checked against the hub's size and hash). A small state file records which commit
 * and which hashes the parts belong to, so a pull after a pause, a crash or a restart continues
 * with a Range request from the part's length, and a changed repository starts the changed files over.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { cancelled, ElmwoodError } from "../engine/errors.ts";
import { ensureFreeSpace, type FreeSpaceProbe, freeSpaceOnDisk, isDiskFull } from "./disk.ts";
import { type HubClient, type HubFile, RangeNotSatisfiable, type RepoListing } from "./hub-client.ts";
import { readJsonFile, writeJsonAtomic } from "./json-file.ts";
import type { LibraryProgress } from "./progress.ts";
import { TransientError, withRetries } from "./retry.ts";

export const STATE_FILE = ".elmwood-download.json";
const PART = ".part";

export interface DownloadState {
  version: 1;
  repoId: string;
  revision: string;
  commit: string;
  files: HubFile[];
  /** Paths whose final file passed verification. */
  verified: string[];
  complete: boolean;
  updatedAt: string;
}

export interface DownloadOptions {
  hub: HubClient;
  repoId: string;
  revision?: string;
  /** The checkpoint folder the files land in. */
  dir: string;
  signal?: AbortSignal;
  onProgress?: (event: LibraryProgress) => void;
  freeSpace?: FreeSpaceProbe;
  /** Space needed on the same disk beyond the download (the converted model), given the checkpoint's size. */
  extraSpace?: (checkpointBytes: number) => number;
  /** Least time between two "download" events for the same file. */
  progressIntervalMs?: number;
  /** Which of the repository's files to fetch; default the OpenELM checkpoint's (selectCheckpointFiles). */
  select?: (files: HubFile[], repoId: string) => HubFile[];
}

export interface DownloadResult {
  dir: string;
  repoId: string;
  revision: string;
  commit: string;
  files: HubFile[];
  totalBytes: number;
  /** Bytes transferred by this call (the rest were on disk already). */
  fetchedBytes: number;
}

/**
 * The files the engine reads: config.json and the safetensors weights, with the shard index when
 * the weights are sharded. Tokenizer and Python files are not needed.
 */
export function selectCheckpointFiles(files: HubFile[], repoId: string): HubFile[] {
  const top = files.filter((f) => !f.path.includes("/") && !f.path.includes("\\"));
  const config = top.find((f) => f.path === "config.json");
  const index = top.find((f) => f.path === "model.safetensors.index.json");
  const weights = index
    ? top.filter((f) => f.path.endsWith(".safetensors") && f.path !== "model.safetensors")
    : top.filter((f) => f.path === "model.safetensors");
  const missing = !config ? "config.json" : weights.length === 0 ? "safetensors weights" : undefined;
  if (missing) {
    const hasBin = top.some((f) => f.path.endsWith(".bin"));
    throw new ElmwoodError(
      "CHECKPOINT",
      `${repoId} has no ${missing}, so Elmwood cannot use it.`,
      hasBin
        ? "It ships PyTorch .bin weights only; Elmwood reads safetensors. Choose an OpenELM repository (see 'elmwood models catalog')."
        : "Choose an OpenELM repository with safetensors weights (see 'elmwood models catalog').",
    );
  }
  return [config as HubFile, ...(index ? [index] : []), ...weights];
}

export async function readDownloadState(dir: string): Promise<DownloadState | undefined> {
  const state = await readJsonFile<DownloadState>(join(dir, STATE_FILE));
  return state?.version === 1 && Array.isArray(state.files) ? state : undefined;
}

/** True when every file of the checkpoint in `dir` was downloaded and verified. */
export async function isDownloadComplete(dir: string): Promise<boolean> {
  const state = await readDownloadState(dir);
  if (!state?.complete) return false;
  for (const file of state.files) {
    if ((await sizeOf(join(dir, file.path))) !== file.size) return false;
  }
  return true;
}

/** Bytes already on disk for `file` in `dir`: the verified file, else the part's length. */
async function presentBytes(dir: string, file: HubFile, verified: boolean): Promise<number> {
  if (verified) return file.size;
  return Math.min(await sizeOf(join(dir, file.path + PART)), file.size);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return 0;
    throw error;
  }
}

function sameContent(a: HubFile, b: HubFile): boolean {
  return a.size === b.size && a.sha256 === b.sha256 && a.blobId === b.blobId;
}

/**
 * Brings `dir` in line with the hub's listing: parts and files whose content the hub no longer
 * lists are removed, a final file not yet recorded as verified goes back to being a part (it is
 * verified again before use), and the verified set is kept only where the file is really there.
 */
async function reconcile(dir: string, listing: RepoListing, files: HubFile[]): Promise<Set<string>> {
  const previous = await readDownloadState(dir);
  const verified = new Set<string>();
  for (const file of files) {
    const final = join(dir, file.path);
    const part = final + PART;
    const before = previous?.files.find((f) => f.path === file.path);
    if (before && !sameContent(before, file)) {
      await rm(final, { force: true });
      await rm(part, { force: true });
      continue;
    }
    const finalSize = await sizeOf(final);
    if (before && previous?.verified.includes(file.path) && finalSize === file.size) {
      verified.add(file.path);
      await rm(part, { force: true });
    } else if (
      await stat(final).then(
        () => true,
        () => false,
      )
    ) {
      await rm(part, { force: true });
      await rename(final, part);
    }
    if ((await sizeOf(part)) > file.size) await rm(part, { force: true });
  }
  await writeState(dir, listing, files, verified, false);
  return verified;
}

async function writeState(
  dir: string,
  listing: RepoListing,
  files: HubFile[],
  verified: Set<string>,
  complete: boolean,
): Promise<void> {
  const state: DownloadState = {
    version: 1,
    repoId: listing.repoId,
    revision: listing.revision,
    commit: listing.commit,
    files,
    verified: [...verified],
    complete,
    updatedAt: new Date().toISOString(),
  };
  await writeJsonAtomic(join(dir, STATE_FILE), state);
}

/** The check a file gets: the LFS sha256, else the git blob sha1, else its size alone. */
class ContentCheck {
  readonly kind: "sha256" | "git-sha1" | "size";
  private hash: Hash | undefined;

  constructor(private readonly file: HubFile) {
    this.kind = file.sha256 ? "sha256" : file.blobId ? "git-sha1" : "size";
    this.reset();
  }

  reset(): void {
    if (this.kind === "sha256") this.hash = createHash("sha256");
    else if (this.kind === "git-sha1") this.hash = createHash("sha1").update(`blob ${this.file.size}\0`);
  }

  update(chunk: Uint8Array): void {
    this.hash?.update(chunk);
  }

  /** Why the content does not match, or undefined when it does. */
  mismatch(): string | undefined {
    if (!this.hash) return undefined;
    const expected = this.kind === "sha256" ? this.file.sha256 : this.file.blobId;
    const actual = this.hash.digest("hex");
    return actual === expected ? undefined : `its ${this.kind} is ${actual}, the hub lists ${expected}`;
  }
}

/** Whole-model transfer rate over a sliding window, and the events that report it. */
class Meter {
  private samples: Array<{ at: number; bytes: number }> = [];
  private lastEmit = new Map<string, number>();
  fetched = 0;

  constructor(
    private done: number,
    private readonly total: number,
    private readonly emit: (event: LibraryProgress) => void,
    private readonly intervalMs: number,
  ) {}

  add(file: HubFile, fileBytes: number, bytes: number): void {
    this.done += bytes;
    this.fetched += bytes;
    const now = performance.now();
    this.samples.push({ at: now, bytes: this.fetched });
    while (this.samples.length > 2 && now - this.samples[0].at > 5_000) this.samples.shift();
    const last = this.lastEmit.get(file.path) ?? Number.NEGATIVE_INFINITY;
    if (fileBytes < file.size && now - last < this.intervalMs) return;
    this.lastEmit.set(file.path, now);
    this.report(file, fileBytes);
  }

  report(file: HubFile, fileBytes: number): void {
    const first = this.samples[0];
    const latest = this.samples[this.samples.length - 1];
    const seconds = first && latest ? (latest.at - first.at) / 1000 : 0;
    const bytesPerSecond = seconds > 0 ? Math.round((latest.bytes - first.bytes) / seconds) : 0;
    const left = this.total - this.done;
    this.emit({
      type: "download",
      file: file.path,
      fileBytes,
      fileTotal: file.size,
      bytes: this.done,
      totalBytes: this.total,
      bytesPerSecond,
      etaSeconds: bytesPerSecond > 0 ? Math.ceil(left / bytesPerSecond) : left === 0 ? 0 : null,
    });
  }

  /** Bytes of a part found on disk that turned out unusable and will be fetched again. */
  forget(bytes: number): void {
    this.done -= bytes;
  }
}

async function hashExisting(
  path: string,
  length: number,
  check: ContentCheck,
  signal?: AbortSignal,
): Promise<void> {
  if (length === 0) return;
  const stream = createReadStream(path, { start: 0, end: length - 1, signal });
  try {
    for await (const chunk of stream) check.update(chunk as Buffer);
  } catch (error) {
    if (signal?.aborted) throw cancelled("The download");
    throw error;
  }
}

interface FileJob {
  hub: HubClient;
  listing: RepoListing;
  dir: string;
  meter: Meter;
  signal?: AbortSignal;
  emit: (event: LibraryProgress) => void;
}

/** Fetches one file into its part (resuming from the part's length), verifies it, then renames it into place. */
async function fetchFile(job: FileJob, file: HubFile): Promise<void> {
  const { hub, listing, dir, meter, signal } = job;
  const final = join(dir, file.path);
  const part = final + PART;
  const check = new ContentCheck(file);
  let offset = await sizeOf(part);
  await hashExisting(part, offset, check, signal);
  const restart = async () => {
    meter.forget(offset);
    offset = 0;
    check.reset();
    await rm(part, { force: true });
  };
  const url = hub.fileUrl(listing.repoId, listing.commit, file.path);
  await mkdir(dirname(part), { recursive: true }); // "onnx/model.onnx", "1_Pooling/config.json"

  await withRetries(
    `Downloading ${file.path} from ${listing.repoId}`,
    hub.retry,
    async () => {
      if (offset >= file.size) return;
      let opened: Awaited<ReturnType<HubClient["openFile"]>>;
      try {
        opened = await hub.openFile(url, offset, signal);
      } catch (error) {
        // The part is longer than what the hub now serves: start this file over.
        if (error instanceof RangeNotSatisfiable) await restart();
        throw error;
      }
      if (opened.start !== offset) await restart();
      const handle = await open(part, offset === 0 ? "w" : "a");
      try {
        for await (const chunk of opened.body) {
          opened.touch();
          if (offset + chunk.byteLength > file.size) {
            await handle.close();
            await restart();
            throw new ElmwoodError(
              "NETWORK",
              `The hub sent more than the ${file.size} bytes it lists for ${file.path}; the partial file was removed.`,
              "Run the pull again; if this repeats, check HF_ENDPOINT points at a faithful hub.",
            );
          }
          await handle.write(chunk);
          check.update(chunk);
          offset += chunk.byteLength;
          meter.add(file, offset, chunk.byteLength);
        }
      } catch (error) {
        if (signal?.aborted) throw cancelled("The download");
        if (error instanceof ElmwoodError) throw error;
        if (isDiskFull(error)) {
          throw new ElmwoodError(
            "DISK",
            `The disk filled up while writing ${file.path} (${offset} of ${file.size} bytes kept).`,
            "Free some space, then run the same pull again: it resumes where it stopped.",
          );
        }
        if (opened.stalled()) throw new TransientError(`no data for ${hub.stallTimeoutMs / 1000} s`);
        throw new TransientError(`connection lost at byte ${offset} of ${file.path} (${describe(error)})`);
      } finally {
        opened.close();
        await handle.close().catch(() => undefined);
      }
      if (offset < file.size) {
        throw new TransientError(`the connection closed at byte ${offset} of ${file.size} of ${file.path}`);
      }
    },
    { signal, onRetry: (notice) => job.emit({ type: "retry", file: file.path, ...notice }) },
  );

  const size = await sizeOf(part);
  const why = size !== file.size ? `its size is ${size} bytes, the hub lists ${file.size}` : check.mismatch();
  if (why) {
    await rm(part, { force: true });
    throw new ElmwoodError(
      "NETWORK",
      `${file.path} from ${listing.repoId} failed verification: ${why}. The file was removed.`,
      "Run the pull again to download it afresh; if it fails again, something between you and the hub (a proxy, or the mirror in HF_ENDPOINT) is altering it.",
    );
  }
  await rename(part, final);
  job.emit({ type: "verified", file: file.path, bytes: file.size, check: check.kind });
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause;
  return cause?.code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * Downloads (or resumes) the checkpoint `repoId` at `revision` into `options.dir`. Resolves once
 * every file is verified; throws CANCELLED when the signal fires (the parts stay for a resume),
 * DISK before starting when the space is short, NETWORK when retries run out or a file fails
 * verification (that file removed), NOT_FOUND for an unknown repository.
 */
export async function downloadCheckpoint(options: DownloadOptions): Promise<DownloadResult> {
  const { hub, repoId, dir, signal } = options;
  const revision = options.revision ?? "main";
  const emit = options.onProgress ?? (() => undefined);
  emit({ type: "resolve", repoId, revision });
  const listing = await hub.listRepo(repoId, revision, {
    signal,
    onRetry: (notice) => emit({ type: "retry", ...notice }),
  });
  const files = (options.select ?? selectCheckpointFiles)(listing.files, repoId);
  await mkdir(dir, { recursive: true });
  const verified = await reconcile(dir, listing, files);

  const present = await Promise.all(files.map((f) => presentBytes(dir, f, verified.has(f.path))));
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const presentTotal = present.reduce((a, b) => a + b, 0);
  const extra = options.extraSpace?.(totalBytes) ?? 0;
  await ensureFreeSpace(
    dir,
    totalBytes - presentTotal + extra,
    `downloading ${repoId}`,
    options.freeSpace ?? freeSpaceOnDisk,
  );
  emit({
    type: "plan",
    repoId,
    commit: listing.commit,
    files: files.map((f, i) => ({ path: f.path, bytes: f.size, presentBytes: present[i] })),
    totalBytes,
    presentBytes: presentTotal,
  });

  const meter = new Meter(presentTotal, totalBytes, emit, options.progressIntervalMs ?? 250);
  const job: FileJob = { hub, listing, dir, meter, signal, emit };
  for (const file of files) {
    if (signal?.aborted) throw cancelled("The download");
    if (verified.has(file.path)) continue;
    await fetchFile(job, file);
    verified.add(file.path);
    await writeState(dir, listing, files, verified, false);
  }
  await writeState(dir, listing, files, verified, true);
  return { dir, repoId, revision, commit: listing.commit, files, totalBytes, fetchedBytes: meter.fetched };
}
