import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ElmwoodError } from "../../engine/errors.ts";
import { type DownloadOptions, downloadCheckpoint, readDownloadState } from "../../models/download.ts";
import { DEFAULT_ENDPOINT, HubClient, hubOptionsFromEnv, unreachableError } from "../../models/hub-client.ts";
import type { LibraryProgress } from "../../models/progress.ts";
import { FakeHub, fakeRepoFiles } from "../support/fake-hub.ts";

const REPO = "apple/OpenELM-Test";
const WEIGHTS_SIZE = 1 << 20;

let hub: FakeHub;
let dir: string;
let weights: Uint8Array;

beforeEach(async () => {
  weights = randomBytes(WEIGHTS_SIZE);
  hub = await FakeHub.start([{ id: REPO, files: fakeRepoFiles(weights) }]);
  dir = await mkdtemp(join(tmpdir(), "elmwood-download-"));
});

afterEach(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

function client(options: { retries?: number; stallTimeoutMs?: number; token?: string } = {}): HubClient {
  return new HubClient({
    endpoint: hub.url,
    token: options.token,
    stallTimeoutMs: options.stallTimeoutMs ?? 5_000,
    retry: { retries: options.retries ?? 3, backoffMs: 5, maxBackoffMs: 20 },
  });
}

function download(options: Partial<DownloadOptions> & { hub: HubClient }) {
  return downloadCheckpoint({ repoId: REPO, dir, freeSpace: async () => 1e12, ...options });
}

/** The address of a port that was just freed, so nothing listens there. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function caught(promise: Promise<unknown>): Promise<ElmwoodError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ElmwoodError);
  return error as ElmwoodError;
}

describe("downloadCheckpoint", () => {
  it("downloads only the files the engine needs, verified, following the CDN redirect", async () => {
    const events: LibraryProgress[] = [];
    const result = await download({ hub: client(), onProgress: (e) => events.push(e) });

    expect((await readdir(dir)).filter((f) => !f.startsWith(".")).sort()).toEqual([
      "config.json",
      "model.safetensors",
    ]);
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(weights));
    expect(result.fetchedBytes).toBe(result.totalBytes);
    expect(events.filter((e) => e.type === "verified").map((e) => e.type === "verified" && e.check)).toEqual([
      "git-sha1",
      "sha256",
    ]);
    const last = events.filter((e) => e.type === "download").at(-1);
    expect(last).toMatchObject({ bytes: result.totalBytes, totalBytes: result.totalBytes, etaSeconds: 0 });
    expect((await readDownloadState(dir))?.complete).toBe(true);
  });

  it("sends HF_TOKEN as a bearer token and reads HF_ENDPOINT from the environment", async () => {
    const options = hubOptionsFromEnv({ HF_ENDPOINT: hub.url, HF_TOKEN: "hf_secret" });
    await download({ hub: new HubClient(options) });
    expect(hub.requests.every((r) => r.authorization === "Bearer hf_secret")).toBe(true);
  });

  it("resumes an interrupted file from where it stopped, in a new client (as after a restart)", async () => {
    hub.fault(`${REPO}/model.safetensors`, { kind: "cut", afterBytes: 300_000 });
    const error = await caught(download({ hub: client({ retries: 0 }) }));
    expect(error.code).toBe("NETWORK");
    // The hub sent 300,000 bytes before it cut the connection; the client keeps what reached it before
    // the cut was noticed (the last chunks can be dropped with the broken stream, so this is a range).
    const kept = (await stat(join(dir, "model.safetensors.part"))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(300_000);
    await expect(stat(join(dir, "model.safetensors"))).rejects.toThrow();

    const events: LibraryProgress[] = [];
    const result = await download({ hub: client(), onProgress: (e) => events.push(e) });
    expect(hub.fileRequests(REPO, "model.safetensors").at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(result.fetchedBytes).toBe(WEIGHTS_SIZE - kept);
    const configBytes = result.totalBytes - WEIGHTS_SIZE;
    expect(events.find((e) => e.type === "plan")).toMatchObject({ presentBytes: configBytes + kept });
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(weights));
  });

  it("pauses on abort keeping the partial file, and resumes it with a Range request", async () => {
    hub.fault(`${REPO}/model.safetensors`, { kind: "stall", afterBytes: 200_000 });
    const controller = new AbortController();
    const paused = download({
      hub: client(),
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: (e) => {
        if (e.type === "download" && e.file === "model.safetensors" && e.fileBytes === 200_000)
          controller.abort();
      },
    });
    expect((await caught(paused)).code).toBe("CANCELLED");
    expect((await stat(join(dir, "model.safetensors.part"))).size).toBe(200_000);

    await download({ hub: client() });
    expect(hub.fileRequests(REPO, "model.safetensors").at(-1)?.range).toBe("bytes=200000-");
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(weights));
  });

  it("starts over when the server ignores the Range header", async () => {
    hub.fault(`${REPO}/model.safetensors`, { kind: "cut", afterBytes: 100_000 });
    await caught(download({ hub: client({ retries: 0 }) }));
    hub.fault(`${REPO}/model.safetensors`, { kind: "ignore-range" });
    await download({ hub: client() });
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(weights));
  });

  it("discards a partial file when the repository's content changed since", async () => {
    hub.fault(`${REPO}/model.safetensors`, { kind: "cut", afterBytes: 100_000 });
    await caught(download({ hub: client({ retries: 0 }) }));
    const updated = randomBytes(WEIGHTS_SIZE);
    hub.setRepo({ id: REPO, files: fakeRepoFiles(updated) });
    await download({ hub: client() });
    expect(hub.fileRequests(REPO, "model.safetensors").at(-1)?.range).toBeUndefined();
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(updated));
  });

  it("removes a file whose bytes do not match the hub's sha256 and says which and why", async () => {
    hub.corrupt(REPO, "model.safetensors", 12_345);
    const error = await caught(download({ hub: client() }));
    expect(error.code).toBe("NETWORK");
    expect(error.message).toMatch(
      /model\.safetensors .* failed verification: its sha256 is [0-9a-f]{64}, the hub lists/,
    );
    expect(error.message).toContain(sha256(weights));
    const left = await readdir(dir);
    expect(left.filter((f) => f.startsWith("model.safetensors"))).toEqual([]);
    expect((await readDownloadState(dir))?.complete).toBe(false);
  });

  it("reports an unknown repository as NOT_FOUND without retrying", async () => {
    const error = await caught(download({ hub: client(), repoId: "apple/No-Such-Model" }));
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain("apple/No-Such-Model");
    expect(hub.requests).toHaveLength(1);
  });

  it("retries a 500 with backoff and then succeeds", async () => {
    hub.fault(`${REPO}/model.safetensors`, { kind: "status", status: 500 }, 2);
    const retries: LibraryProgress[] = [];
    await download({ hub: client(), onProgress: (e) => e.type === "retry" && retries.push(e) });
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({
      file: "model.safetensors",
      attempt: 1,
      reason: expect.stringContaining("HTTP 500"),
    });
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(weights));
  });

  it("gives up with NETWORK once 500s outlast the retries", async () => {
    hub.fault(`api:${REPO}`, { kind: "status", status: 503 }, 10);
    const error = await caught(download({ hub: client({ retries: 2 }) }));
    expect(error.code).toBe("NETWORK");
    expect(error.message).toMatch(/after 3 attempts: HTTP 503/);
  });

  it("retries a 503 on the file list and then succeeds", async () => {
    hub.fault(`api:${REPO}`, { kind: "status", status: 503 });
    const retries: LibraryProgress[] = [];
    await download({ hub: client(), onProgress: (e) => e.type === "retry" && retries.push(e) });
    expect(retries).toEqual([
      expect.objectContaining({ attempt: 1, reason: expect.stringContaining("HTTP 503") }),
    ]);
    expect(hub.requests.filter((r) => r.path.startsWith("/api/")).map((r) => r.status)).toEqual([503, 200]);
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(weights));
  });

  describe("a hub that cannot be reached fails at once, naming HF_ENDPOINT", () => {
    /**
     * A download with the default five retries, whose first retry (if any) is recorded and cancels
     * it, so a failure that is retried shows as a retry and a CANCELLED error rather than a wait.
     */
    async function pullFrom(endpoint: string) {
      const retries: LibraryProgress[] = [];
      const stop = new AbortController();
      const error = await caught(
        download({
          hub: new HubClient({ endpoint, retry: { retries: 5, backoffMs: 60_000, maxBackoffMs: 60_000 } }),
          signal: stop.signal,
          onProgress: (e) => {
            if (e.type !== "retry") return;
            retries.push(e);
            stop.abort();
          },
        }),
      );
      return { error, retries };
    }

    it("when nothing listens on its port", async () => {
      const endpoint = await closedPort();
      const { error, retries } = await pullFrom(endpoint);
      expect(retries).toEqual([]);
      expect(error.code).toBe("NETWORK");
      expect(error.message).toMatch(
        new RegExp(
          `^Cannot reach the hub at ${endpoint}: 127\\.0\\.0\\.1:\\d+ refused the connection \\(ECONNREFUSED\\)\\.$`,
        ),
      );
      expect(error.hint).toContain(`unset HF_ENDPOINT to download from ${DEFAULT_ENDPOINT}`);
    });

    it("when its host name does not resolve", async () => {
      // .invalid is reserved (RFC 6761): no resolver may answer for it.
      const endpoint = "http://elmwood-test-hub.invalid";
      const { error, retries } = await pullFrom(endpoint);
      expect(retries).toEqual([]);
      expect(error.code).toBe("NETWORK");
      expect(error.message).toMatch(
        /^Cannot reach the hub at http:\/\/elmwood-test-hub\.invalid: the name elmwood-test-hub\.invalid (does not resolve|could not be resolved) \((ENOTFOUND|EAI_AGAIN)\)\.$/,
      );
      expect(error.hint).toContain("HF_ENDPOINT");
    });

    it("when the default hub cannot be reached, says how to download from a mirror", () => {
      const error = unreachableError(DEFAULT_ENDPOINT, { code: "EAI_AGAIN", hostname: "huggingface.co" });
      expect(error?.toLine()).toBe(
        "Cannot reach the hub at https://huggingface.co: the name huggingface.co could not be resolved (EAI_AGAIN). " +
          "Check the network connection and run the same command again; to download from a mirror, set HF_ENDPOINT to its address (HF_ENDPOINT=https://mirror.example).",
      );
      // Resets and timeouts are not "unreachable": they stay retried.
      expect(unreachableError(DEFAULT_ENDPOINT, { code: "ECONNRESET" })).toBeUndefined();
      expect(unreachableError(DEFAULT_ENDPOINT, { code: "ETIMEDOUT" })).toBeUndefined();
    });
  });

  it("abandons a stalled connection after the stall timeout and resumes on retry", async () => {
    hub.fault(`${REPO}/model.safetensors`, { kind: "stall", afterBytes: 50_000 });
    const retries: LibraryProgress[] = [];
    await download({
      hub: client({ stallTimeoutMs: 150 }),
      onProgress: (e) => e.type === "retry" && retries.push(e),
    });
    expect(retries).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/no data for 0.15 s/) }),
    ]);
    expect(hub.fileRequests(REPO, "model.safetensors").at(-1)?.range).toBe("bytes=50000-");
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(weights));
  });

  it("fails a stalled connection with NETWORK when no retries are left", async () => {
    hub.fault(`${REPO}/model.safetensors`, { kind: "stall", afterBytes: 50_000 });
    const error = await caught(download({ hub: client({ stallTimeoutMs: 150, retries: 0 }) }));
    expect(error.code).toBe("NETWORK");
    expect(error.message).toContain("no data for 0.15 s");
  });

  it("refuses to start when the disk is too small, before fetching any file", async () => {
    const error = await caught(download({ hub: client(), freeSpace: async () => 10_000_000 }));
    expect(error.code).toBe("DISK");
    expect(error.message).toMatch(/needs about .* and 10\.0 MB is free/);
    expect(hub.requests.filter((r) => r.path.includes("/resolve/") || r.path.startsWith("/cdn/"))).toEqual(
      [],
    );
  });

  it("counts the converted model in the space it asks for", async () => {
    // Room for the download and the margin, but not for a converted copy twice its size.
    const free = async () => WEIGHTS_SIZE * 2 + 64_000_000;
    const error = await caught(
      download({ hub: client(), extraSpace: (bytes) => bytes * 2, freeSpace: free }),
    );
    expect(error.code).toBe("DISK");
  });
});
