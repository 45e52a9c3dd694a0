/**
 * The Hugging Face hub as Elmwood needs it: a repository's file list (sizes and hashes) and a file's
 * bytes from an offset. The endpoint comes from HF_ENDPOINT (mirrors, tests) and a token from
 * HF_TOKEN. Every request carries a stall watchdog: no bytes for `stallTimeoutMs` ends it.
 */
import { cancelled, ElmwoodError } from "../engine/errors.ts";
import { DEFAULT_RETRY, type RetryNotice, type RetryPolicy, TransientError, withRetries } from "./retry.ts";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface HubFile {
  /** Path inside the repository, e.g. "model.safetensors". */
  path: string;
  size: number;
  /** LFS files: the sha256 of the content, as the hub reports it. */
  sha256?: string;
  /** Plain git files: the git blob id (sha1 of "blob <size>\0" + content). */
  blobId?: string;
}

export interface RepoListing {
  repoId: string;
  revision: string;
  /** The commit the revision pointed at; downloads pin to it so files cannot mix revisions. */
  commit: string;
  files: HubFile[];
}

export interface HubClientOptions {
  endpoint?: string;
  token?: string;
  /** A request that delivers no bytes for this long is abandoned (and retried). */
  stallTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

export interface OpenedFile {
  /** 206 when the hub honoured the Range header, 200 when it sends the whole file. */
  status: 200 | 206;
  /** The first byte's offset in the file. */
  start: number;
  body: AsyncIterable<Uint8Array>;
  /** Call on every chunk: it keeps the stall watchdog from firing. */
  touch(): void;
  /** True once the watchdog fired; the body then throws. */
  stalled(): boolean;
  /** Stops the watchdog; call when done with the body, however that ended. */
  close(): void;
}

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Throws BAD_INPUT unless `repoId` looks like "owner/name". */
export function checkRepoId(repoId: string): void {
  if (!REPO_ID.test(repoId) || repoId.includes("..")) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `'${repoId}' is not a Hugging Face repository id.`,
      "Use the form owner/name, e.g. apple/OpenELM-270M-Instruct (see 'elmwood models catalog').",
    );
  }
}

/** The hub settings from the environment: HF_ENDPOINT (default huggingface.co) and HF_TOKEN. */
export function hubOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): HubClientOptions {
  return { endpoint: env.HF_ENDPOINT || DEFAULT_ENDPOINT, token: env.HF_TOKEN || undefined };
}

function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** A watchdog that aborts when `touch` has not been called for `ms`. */
function stallWatch(ms: number, outer: AbortSignal | undefined) {
  const controller = new AbortController();
  let fired = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      fired = true;
      controller.abort(new TransientError(`no data for ${Math.round(ms / 100) / 10} s`));
    }, ms);
  };
  arm();
  const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
  return { signal, touch: arm, stalled: () => fired, close: () => clearTimeout(timer) };
}

export class HubClient {
  readonly endpoint: string;
  readonly stallTimeoutMs: number;
  readonly retry: RetryPolicy;
  private readonly token: string | undefined;

  constructor(options: HubClientOptions = hubOptionsFromEnv()) {
    this.endpoint = (options.endpoint || DEFAULT_ENDPOINT).replace(/\/+$/, "");
    this.token = options.token;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    try {
      new URL(this.endpoint);
    } catch {
      throw new ElmwoodError(
        "BAD_INPUT",
        `HF_ENDPOINT '${this.endpoint}' is not a URL.`,
        `Set it to a hub address such as ${DEFAULT_ENDPOINT}, or unset it.`,
      );
    }
  }

  fileUrl(repoId: string, commit: string, path: string): string {
    return `${this.endpoint}/${repoId}/resolve/${encodeURIComponent(commit)}/${encodePath(path)}`;
  }

  /** The files of `repoId` at `revision`, with sizes and hashes, retried on transient failures. */
  async listRepo(
    repoId: string,
    revision = "main",
    options: { signal?: AbortSignal; onRetry?: (notice: RetryNotice) => void } = {},
  ): Promise<RepoListing> {
    checkRepoId(repoId);
    const url = `${this.endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const what = `Listing ${repoId} on ${this.endpoint}`;
    const body = await withRetries(
      what,
      this.retry,
      async () => {
        const watch = stallWatch(this.stallTimeoutMs, options.signal);
        try {
          const response = await this.request(url, watch.signal, options.signal, watch.stalled);
          this.checkStatus(response, repoId, revision);
          return await readJson(response, watch, options.signal);
        } finally {
          watch.close();
        }
      },
      options,
    );
    return parseListing(body, repoId, revision, this.endpoint);
  }

  /** One attempt at a file's bytes from `start`; transient failures throw TransientError. */
  async openFile(url: string, start: number, signal?: AbortSignal): Promise<OpenedFile> {
    const watch = stallWatch(this.stallTimeoutMs, signal);
    try {
      const headers: Record<string, string> = start > 0 ? { range: `bytes=${start}-` } : {};
      const response = await this.request(url, watch.signal, signal, watch.stalled, headers);
      if (response.status === 206) {
        const range = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "");
        const first = range ? Number(range[1]) : Number.NaN;
        if (first !== start) {
          await response.body?.cancel();
          throw new TransientError(`the hub answered a range request for byte ${start} from byte ${first}`);
        }
      } else if (response.status === 416) {
        await response.body?.cancel();
        throw new RangeNotSatisfiable();
      } else if (response.status !== 200) {
        this.checkStatus(response, undefined, undefined, url);
        throw new ElmwoodError(
          "NETWORK",
          `The hub answered HTTP ${response.status} without the file for ${url}.`,
        );
      }
      if (!response.body) throw new TransientError("the hub sent no body");
      return {
        status: response.status as 200 | 206,
        start: response.status === 206 ? start : 0,
        body: response.body as unknown as AsyncIterable<Uint8Array>,
        touch: watch.touch,
        stalled: watch.stalled,
        close: watch.close,
      };
    } catch (error) {
      watch.close();
      throw error;
    }
  }

  private async request(
    url: string,
    signal: AbortSignal,
    outer: AbortSignal | undefined,
    stalled: () => boolean,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    try {
      return await fetch(url, {
        signal,
        redirect: "follow",
        headers: {
          ...headers,
          "accept-encoding": "identity",
          "user-agent": "elmwood",
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
      });
    } catch (error) {
      throw networkFailure(error, outer, stalled, this.endpoint);
    }
  }

  private checkStatus(response: Response, repoId?: string, revision?: string, url?: string): void {
    const status = response.status;
    if (status >= 200 && status < 300) return;
    void response.body?.cancel();
    const target = repoId ? `${repoId} (revision ${revision})` : (url ?? "the file");
    if (status >= 500 || status === 429 || status === 408) {
      throw new TransientError(`HTTP ${status} from the hub for ${target}`);
    }
    if (status === 401 || status === 403) {
      throw new ElmwoodError(
        "NETWORK",
        `The hub refused access to ${target} (HTTP ${status}).`,
        this.token
          ? "Check the repository id, and that HF_TOKEN is valid and can read this repository."
          : "Check the repository id; if it is gated or private, set HF_TOKEN to a Hugging Face token that can read it.",
      );
    }
    if (status === 404) {
      throw new ElmwoodError(
        "NOT_FOUND",
        `${target} was not found on ${this.endpoint} (HTTP 404).`,
        repoId
          ? "Check the repository id and revision, e.g. apple/OpenELM-270M-Instruct (see 'elmwood models catalog')."
          : "The repository changed while downloading; run the pull again to fetch its current file list.",
      );
    }
    throw new ElmwoodError("NETWORK", `The hub answered HTTP ${status} for ${target}.`);
  }
}

/** The hub answered 416: the offset asked for is past the file's end. */
export class RangeNotSatisfiable extends TransientError {
  constructor() {
    super("the hub could not serve the requested byte range");
  }
}

export interface SocketError {
  code?: string;
  message?: string;
  hostname?: string;
  address?: string;
  port?: number;
  /** Node's connection attempts to each address of a name fail together as an AggregateError. */
  errors?: SocketError[];
}

/**
 * Connection failures that trying again in a few seconds will not fix: the name does not resolve
 * (EAI_AGAIN included: it is what a machine without a network gets from its resolver), nothing
 * listens there, or there is no route to it. Timeouts, resets and 5xx answers stay retried.
 */
const UNREACHABLE: Record<string, (e: SocketError) => string> = {
  ENOTFOUND: (e) => `the name ${e.hostname ?? "of its host"} does not resolve`,
  EAI_AGAIN: (e) => `the name ${e.hostname ?? "of its host"} could not be resolved`,
  ECONNREFUSED: (e) => `${e.address ? `${e.address}:${e.port}` : "its host"} refused the connection`,
  ENETUNREACH: (e) => `there is no network route to ${e.address ?? "its host"}`,
  EHOSTUNREACH: (e) => `there is no route to ${e.address ?? "its host"}`,
};

/** NETWORK, at once, for a hub that cannot be reached: the message says how to point elsewhere. */
export function unreachableError(endpoint: string, cause: SocketError): ElmwoodError | undefined {
  const failure = [cause, ...(cause.errors ?? [])].find((e) => e.code && e.code in UNREACHABLE);
  if (!failure?.code) return undefined;
  return new ElmwoodError(
    "NETWORK",
    `Cannot reach the hub at ${endpoint}: ${UNREACHABLE[failure.code](failure)} (${failure.code}).`,
    endpoint === DEFAULT_ENDPOINT
      ? "Check the network connection and run the same command again; to download from a mirror, set HF_ENDPOINT to its address (HF_ENDPOINT=https://mirror.example)."
      : `Check that HF_ENDPOINT (${endpoint}) is the address of a hub that is running, or unset HF_ENDPOINT to download from ${DEFAULT_ENDPOINT}.`,
    { cause },
  );
}

function networkFailure(
  error: unknown,
  outer: AbortSignal | undefined,
  stalled: () => boolean,
  /** Given while connecting: a hub that cannot be reached then fails at once. */
  endpoint?: string,
): Error {
  if (outer?.aborted) return cancelled("The download");
  if (stalled()) return new TransientError("the connection stalled (no data received)");
  if (error instanceof TransientError || error instanceof ElmwoodError) return error;
  const cause = (error as { cause?: SocketError })?.cause;
  const fatal = cause && endpoint !== undefined ? unreachableError(endpoint, cause) : undefined;
  if (fatal) return fatal;
  const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new TransientError(`network error (${detail})`);
}

async function readJson(
  response: Response,
  watch: { touch(): void; stalled(): boolean },
  outer: AbortSignal | undefined,
): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      watch.touch();
      chunks.push(chunk);
    }
  } catch (error) {
    throw networkFailure(error, outer, watch.stalled);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new ElmwoodError(
      "NETWORK",
      "The hub's file list was not valid JSON.",
      "Check HF_ENDPOINT points at a hub.",
    );
  }
}

/** Reads the hub's model-info answer (siblings with rfilename, size and lfs.sha256). */
export function parseListing(body: unknown, repoId: string, revision: string, endpoint: string): RepoListing {
  const info = body as { sha?: unknown; siblings?: unknown };
  const bad = (why: string) =>
    new ElmwoodError(
      "NETWORK",
      `The hub at ${endpoint} gave an unexpected file list for ${repoId}: ${why}.`,
      "Check HF_ENDPOINT points at a Hugging Face hub or a faithful mirror.",
    );
  if (!info || typeof info !== "object" || !Array.isArray(info.siblings)) throw bad("no 'siblings'");
  const files: HubFile[] = [];
  for (const sibling of info.siblings as Array<Record<string, unknown>>) {
    const path = sibling?.rfilename;
    if (typeof path !== "string") throw bad("a sibling without 'rfilename'");
    const lfs = sibling.lfs as { sha256?: unknown; size?: unknown } | undefined;
    const size = typeof lfs?.size === "number" ? lfs.size : sibling.size;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw bad(`no size for ${path}`);
    const file: HubFile = { path, size };
    if (typeof lfs?.sha256 === "string" && /^[0-9a-f]{64}$/i.test(lfs.sha256))
      file.sha256 = lfs.sha256.toLowerCase();
    else if (typeof sibling.blobId === "string" && /^[0-9a-f]{40}$/i.test(sibling.blobId)) {
      file.blobId = sibling.blobId.toLowerCase();
    }
    files.push(file);
  }
  const commit = typeof info.sha === "string" && info.sha ? info.sha : revision;
  return { repoId, revision, commit, files };
}
