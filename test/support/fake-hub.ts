/**
 * A Hugging Face hub on 127.0.0.1 for tests, in the hub's URL layout and API shape:
 *   GET /api/models/{owner}/{name}/revision/{rev}?blobs=true -> { id, sha, siblings: [{ rfilename, size,
 *       blobId, lfs?: { sha256, size } }] }
 *   GET /{owner}/{name}/resolve/{rev}/{path} -> the file; LFS files redirect to /cdn/{sha256} first.
 * Range requests (bytes=N- and bytes=N-M) are answered 206, or 416 past the end. Scripted faults
 * (an HTTP status, a connection cut or stalled after N bytes, a Range ignored) and corrupted bytes
 * let tests drive every failure a real download meets.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRepo {
  id: string;
  /** The commit "main" points at; defaults to a hash of the content. */
  commit?: string;
  files: Record<string, Uint8Array>;
}

export type Fault =
  | { kind: "status"; status: number }
  /** Sends the headers and the first `afterBytes` bytes, then closes the connection. */
  | { kind: "cut"; afterBytes: number }
  /** Sends the headers and the first `afterBytes` bytes, then sends nothing more. */
  | { kind: "stall"; afterBytes: number }
  /** Answers a ranged request with 200 and the whole file, as some servers do. */
  | { kind: "ignore-range" };

export interface HubRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  status: number;
}

interface ScriptedFault {
  fault: Fault;
  times: number;
}

interface StoredRepo {
  id: string;
  commit: string;
  files: Map<string, Uint8Array>;
  /** Bytes served in place of the listed content (the listing keeps the original hashes). */
  served: Map<string, Uint8Array>;
}

const isLfs = (path: string) => path.endsWith(".safetensors") || path.endsWith(".onnx");
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const gitBlobId = (data: Uint8Array) =>
  createHash("sha1").update(`blob ${data.byteLength}\0`).update(data).digest("hex");

export class FakeHub {
  readonly requests: HubRequest[] = [];
  private readonly repos = new Map<string, StoredRepo>();
  private readonly faults = new Map<string, ScriptedFault[]>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(repos: FakeRepo[] = []): Promise<FakeHub> {
    let hub: FakeHub | undefined;
    const server = createServer((req, res) => hub?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    hub = new FakeHub(server, `http://127.0.0.1:${port}`);
    for (const repo of repos) hub.setRepo(repo);
    return hub;
  }

  /** Adds or replaces a repository (a new commit when its content changes). */
  setRepo(repo: FakeRepo): void {
    const files = new Map(Object.entries(repo.files));
    const digest = createHash("sha1");
    for (const [path, data] of files) digest.update(path).update(data);
    const commit = repo.commit ?? digest.digest("hex");
    this.repos.set(repo.id, { id: repo.id, commit, files, served: new Map() });
  }

  /** Serves `path` with the byte at `offset` flipped; the listing still names the true hash. */
  corrupt(repoId: string, path: string, offset: number): void {
    const repo = this.repos.get(repoId);
    const data = repo?.files.get(path);
    if (!repo || !data) throw new Error(`fake hub: no ${repoId}/${path}`);
    const bad = Uint8Array.from(data);
    bad[offset] ^= 0xff;
    repo.served.set(path, bad);
  }

  /**
   * Applies `fault` to the next `times` requests for a target: "api:{repo}" for the listing,
   * "{repo}/{path}" for a file.
   */
  fault(target: string, fault: Fault, times = 1): void {
    const list = this.faults.get(target) ?? [];
    list.push({ fault, times });
    this.faults.set(target, list);
  }

  /** The requests that were answered with a file's bytes (or an error), redirects left out. */
  fileRequests(repoId: string, path: string): HubRequest[] {
    return this.requests.filter(
      (r) =>
        r.status !== 302 &&
        (r.path === `/cdn/${repoId}/${path}` ||
          (r.path.startsWith(`/${repoId}/resolve/`) && r.path.endsWith(`/${path}`))),
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(target: string): Fault | undefined {
    const list = this.faults.get(target);
    const next = list?.[0];
    if (!next) return undefined;
    if (--next.times <= 0) list.shift();
    return next.fault;
  }

  private record(req: IncomingMessage, status: number, path: string): void {
    this.requests.push({
      method: req.method ?? "GET",
      path,
      range: req.headers.range,
      authorization: req.headers.authorization,
      status,
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.url);
    const path = decodeURIComponent(url.pathname);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (api) {
      this.listing(req, res, api[1], api[2], path);
      return;
    }
    const cdn = /^\/cdn\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
    if (cdn) {
      this.file(req, res, `${cdn[1]}/${cdn[2]}`, cdn[3], path, true);
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      const repo = this.repos.get(resolve[1]);
      if (repo && resolve[2] !== "main" && resolve[2] !== repo.commit) {
        this.send(req, res, path, 404, "no such revision");
        return;
      }
      this.file(req, res, resolve[1], resolve[3], path, false);
      return;
    }
    this.send(req, res, path, 404, "not found");
  }

  private send(req: IncomingMessage, res: ServerResponse, path: string, status: number, text: string): void {
    this.record(req, status, path);
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(text);
  }

  private listing(
    req: IncomingMessage,
    res: ServerResponse,
    repoId: string,
    revision: string,
    path: string,
  ): void {
    const fault = this.takeFault(`api:${repoId}`);
    if (fault?.kind === "status") {
      this.send(req, res, path, fault.status, "scripted");
      return;
    }
    const repo = this.repos.get(repoId);
    if (!repo || (revision !== "main" && revision !== repo.commit)) {
      this.send(req, res, path, 404, JSON.stringify({ error: "Repository not found" }));
      return;
    }
    const siblings = [...repo.files].map(([rfilename, data]) => ({
      rfilename,
      size: data.byteLength,
      blobId: gitBlobId(data),
      ...(isLfs(rfilename) ? { lfs: { sha256: sha256(data), size: data.byteLength, pointerSize: 134 } } : {}),
    }));
    this.record(req, 200, path);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: repoId, modelId: repoId, sha: repo.commit, siblings }));
  }

  private file(
    req: IncomingMessage,
    res: ServerResponse,
    repoId: string,
    filePath: string,
    path: string,
    fromCdn: boolean,
  ): void {
    const repo = this.repos.get(repoId);
    const data = repo?.served.get(filePath) ?? repo?.files.get(filePath);
    if (!repo || !data) {
      this.send(req, res, path, 404, "Entry not found");
      return;
    }
    if (!fromCdn && isLfs(filePath)) {
      // The hub sends LFS files from a CDN: follow the redirect like a real client must.
      this.record(req, 302, path);
      res.writeHead(302, { location: `/cdn/${repoId}/${filePath}` });
      res.end();
      return;
    }
    const fault = this.takeFault(`${repoId}/${filePath}`);
    if (fault?.kind === "status") {
      this.send(req, res, path, fault.status, "scripted");
      return;
    }

    let start = 0;
    let end = data.byteLength - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range && fault?.kind !== "ignore-range") {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= data.byteLength) {
        this.record(req, 416, path);
        res.writeHead(416, { "content-range": `bytes */${data.byteLength}` });
        res.end();
        return;
      }
      status = 206;
    }
    const body = data.subarray(start, end + 1);
    this.record(req, status, path);
    res.writeHead(status, {
      "content-type": "application/octet-stream",
      "content-length": String(body.byteLength),
      "accept-ranges": "bytes",
      ...(status === 206 ? { "content-range": `bytes ${start}-${end}/${data.byteLength}` } : {}),
    });
    if (fault?.kind === "cut") {
      res.write(body.subarray(0, fault.afterBytes), () => res.socket?.end());
    } else if (fault?.kind === "stall") {
      // Keep the connection open and silent; close() ends it.
      res.write(body.subarray(0, fault.afterBytes));
    } else {
      res.end(body);
    }
  }
}

/** A HF-shaped repository with the files the engine needs plus ones it must not download. */
export function fakeRepoFiles(
  weights: Uint8Array,
  config: object = { model_type: "openelm" },
): Record<string, Uint8Array> {
  return {
    "config.json": new TextEncoder().encode(JSON.stringify(config)),
    "configuration_openelm.py": new TextEncoder().encode("# not needed by Elmwood\n"),
    "generation_config.json": new TextEncoder().encode("{}"),
    "model.safetensors": weights,
  };
}
