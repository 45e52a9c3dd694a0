/**
 * A service over a temp ELMWOOD_HOME holding one small random OpenELM model, imported through the
 * service itself (models.import), and helpers that wait on the service's events.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventName, EventPayload } from "../../engine/api/contract.ts";
import { DEFAULT_PREPARE_OPTIONS } from "../../engine/documents/prepare.ts";
import { inlinePreparer } from "../../engine/documents/prepare-pool.ts";
import { llamaTokenCounter } from "../../engine/documents/tokens.ts";
import { elmwoodPaths } from "../../engine/paths.ts";
import { ElmwoodService, type ElmwoodServiceOptions } from "../../engine/service.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../support/random-checkpoint.ts";

export const MODEL = "tiny-instruct";

export interface ServiceFixture {
  home: string;
  checkpoint: string;
  open(options?: Partial<ElmwoodServiceOptions>): ElmwoodService;
  cleanup(): Promise<void>;
}

export async function makeServiceFixture(options: { withModel: boolean }): Promise<ServiceFixture> {
  const root = await mkdtemp(join(tmpdir(), "elmwood-service-"));
  const home = join(root, "home");
  const checkpoint = join(root, "checkpoint");
  // Files are prepared on the test's own thread and folders are not watched: fewer threads to start.
  const open = (extra: Partial<ElmwoodServiceOptions> = {}) =>
    new ElmwoodService({
      paths: elmwoodPaths(home),
      indexer: { preparer: inlinePreparer(DEFAULT_PREPARE_OPTIONS, llamaTokenCounter()), watch: false },
      ...extra,
    });
  if (options.withModel) {
    await writeRandomCheckpoint(checkpoint, { ...SMALL_OPENELM, seed: 11 });
    const service = open();
    try {
      const finished = nextEvent(service, "models.progress", (e) =>
        ["finished", "failed"].includes(e.progress.type),
      );
      await service.call("models.import", { path: checkpoint, name: MODEL, precision: "fp32" });
      const { progress } = await finished;
      if (progress.type !== "finished") throw new Error(`import failed: ${JSON.stringify(progress)}`);
    } finally {
      await service.close();
    }
  }
  return { home, checkpoint, open, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** The next event of a kind that matches, as a promise. */
export function nextEvent<E extends EventName>(
  service: ElmwoodService,
  event: E,
  match: (payload: EventPayload<E>) => boolean = () => true,
): Promise<EventPayload<E>> {
  return new Promise((resolve) => {
    const off = service.on(event, (payload) => {
      if (!match(payload)) return;
      off();
      resolve(payload);
    });
  });
}

/** Everything a reply streamed, and how it ended (chat.done's message or chat.error's error). */
export async function replyTo<S extends { requestId: string }>(
  service: ElmwoodService,
  started: Promise<S>,
  onToken?: (tokens: number) => void,
) {
  const deltas: string[] = [];
  let requestId: string | undefined;
  const early: EventPayload<"chat.token">[] = [];
  const offToken = service.on("chat.token", (e) => {
    if (requestId === undefined) early.push(e);
    else if (e.requestId === requestId) {
      deltas.push(e.delta);
      onToken?.(e.tokens);
    }
  });
  const ended = new Promise<
    | { done: EventPayload<"chat.done">; error?: undefined }
    | { error: EventPayload<"chat.error">; done?: undefined }
  >((resolve) => {
    const offDone = service.on("chat.done", (e) => {
      if (e.requestId !== requestId) return;
      offDone();
      offError();
      resolve({ done: e });
    });
    const offError = service.on("chat.error", (e) => {
      if (e.requestId !== requestId) return;
      offDone();
      offError();
      resolve({ error: e });
    });
  });
  const start = await started;
  requestId = start.requestId;
  for (const e of early) if (e.requestId === requestId) deltas.push(e.delta);
  const end = await ended;
  offToken();
  return { start, text: deltas.join(""), ...end };
}
