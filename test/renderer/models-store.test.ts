import { describe, expect, it } from "vitest";
import type { LibraryProgress } from "../../engine/api/contract.ts";
import { applyProgress, jobFraction, newJob } from "../../renderer/models/job-progress.ts";
import { createModelsStore, jobFor } from "../../renderer/stores/models-store.ts";
import { fakeApi, settle } from "./fake-api.ts";

const REPO = "apple/OpenELM-270M-Instruct";
const download = (bytes: number): LibraryProgress => ({
  type: "download",
  file: "model.safetensors",
  fileBytes: bytes,
  fileTotal: 1000,
  bytes,
  totalBytes: 1000,
  bytesPerSecond: 250,
  etaSeconds: (1000 - bytes) / 250,
});
const cancelled: LibraryProgress = { type: "failed", error: { code: "CANCELLED", message: "Stopped." } };

function store() {
  const api = fakeApi({
    "models.catalog": () => ({ entries: [], recommended: "openelm-270m-instruct", embedding: [] }),
    "models.list": () => ({
      models: [],
      broken: [],
      downloads: [],
      remote: [],
      defaultModel: null,
      embedding: [],
    }),
    "models.pull": () => ({ jobId: "j1" }),
    "models.pause": () => ({ paused: true }),
    "models.cancel": () => ({}),
  });
  return { api, models: createModelsStore(api.client) };
}

describe("download progress", () => {
  it("follows bytes, speed and time left while downloading", () => {
    const job = applyProgress(newJob("j1", "pull", REPO), download(250));
    expect(job.phase).toBe("downloading");
    expect(jobFraction(job)).toBeCloseTo(0.25);
    expect(job.etaSeconds).toBe(3);
  });

  it("switches the bar to conversion steps once the files are in", () => {
    let job = applyProgress(newJob("j1", "pull", REPO), download(1000));
    job = applyProgress(job, { type: "convert", phase: "quantize", done: 3, total: 12 });
    expect(job.phase).toBe("converting");
    expect(jobFraction(job)).toBeCloseTo(0.25);
  });

  it("reads a cancellation after Pause as paused, and after Cancel as cancelled", () => {
    const running = applyProgress(newJob("j1", "pull", REPO), download(500));
    expect(applyProgress(running, cancelled, "pause").phase).toBe("paused");
    expect(applyProgress(running, cancelled, "cancel").phase).toBe("cancelled");
    expect(
      applyProgress(running, { type: "failed", error: { code: "NETWORK", message: "Offline." } }).phase,
    ).toBe("failed");
  });
});

describe("models store", () => {
  it("pauses a running pull and shows it paused when the engine reports it stopped", async () => {
    const { api, models } = store();
    await models.getState().pull(REPO);
    api.emit("models.progress", { jobId: "j1", kind: "pull", target: REPO, progress: download(400) });
    await models.getState().pause(REPO);
    api.emit("models.progress", { jobId: "j1", kind: "pull", target: REPO, progress: cancelled });
    const job = jobFor(models.getState().jobs, REPO);
    expect(job?.phase).toBe("paused");
    expect(job?.bytes).toBe(400);
    expect(api.calls.find((c) => c.name === "models.pause")?.input).toEqual({ repo: REPO });
  });

  it("follows a pull it did not start (another window, or before a reload)", async () => {
    const { api, models } = store();
    api.emit("models.progress", { jobId: "j9", kind: "pull", target: REPO, progress: download(100) });
    expect(jobFor(models.getState().jobs, REPO)?.bytes).toBe(100);
  });

  it("reads the library again when a job ends", async () => {
    const { api, models } = store();
    await models.getState().pull(REPO);
    const before = api.calls.filter((c) => c.name === "models.list").length;
    api.emit("models.progress", { jobId: "j1", kind: "pull", target: REPO, progress: cancelled });
    await settle();
    expect(api.calls.filter((c) => c.name === "models.list").length).toBe(before + 1);
  });
});
