/**
 * Elmwood in browser mode for the end-to-end tests: the real engine service over a temp ELMWOOD_HOME,
 * behind the real loopback server, serving the built renderer. Stopping and starting again on the
 * same home is a restart as a person would see one.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { elmwoodPaths } from "../../../engine/paths.ts";
import { type RunningServer, startServer } from "../../../engine/server/server.ts";
import { ElmwoodService } from "../../../engine/service.ts";
import { HubClient } from "../../../models/hub-client.ts";
import { FakeHub, type FakeRepo } from "../../support/fake-hub.ts";
import { SMALL_OPENELM, writeRandomCheckpoint } from "../../support/random-checkpoint.ts";
import { RENDERER_OUT } from "./build-renderer.ts";

export interface Elmwood {
  service: ElmwoodService;
  server: RunningServer;
  /** The address with its token, as `elmwood serve` prints it. */
  url: string;
  stop(): Promise<void>;
}

export async function startElmwood(home: string, options: { hubUrl?: string } = {}): Promise<Elmwood> {
  const service = new ElmwoodService({
    paths: elmwoodPaths(home),
    ...(options.hubUrl ? { hubClient: new HubClient({ endpoint: options.hubUrl }) } : {}),
    indexer: { watch: false },
  });
  const server = await startServer({ door: service, port: 0, ui: { rendererDir: RENDERER_OUT } });
  return {
    service,
    server,
    url: server.uiUrl ?? server.origin,
    async stop() {
      await server.close();
      await service.close();
    },
  };
}

/** A small random OpenELM checkpoint in the Hugging Face layout, as files for the fake hub. */
export async function checkpointFiles(dir: string, seed: number): Promise<Record<string, Uint8Array>> {
  // A 1024-token vocabulary keeps it small; the Llama tokenizer still decodes those ids.
  await writeRandomCheckpoint(dir, { ...SMALL_OPENELM, vocabSize: 1024, seed });
  const files: Record<string, Uint8Array> = {};
  for (const file of await readdir(dir)) files[file] = await readFile(join(dir, file));
  return files;
}

export async function startHub(repos: FakeRepo[]): Promise<FakeHub> {
  return FakeHub.start(repos);
}

/** Imports a fresh random checkpoint through the contract and waits until it is installed. */
export async function importModel(elmwood: Elmwood, checkpointDir: string, name: string): Promise<void> {
  await writeRandomCheckpoint(checkpointDir, { ...SMALL_OPENELM, seed: 11 });
  const finished = new Promise<void>((resolve, reject) => {
    const off = elmwood.service.on("models.progress", ({ progress }) => {
      if (progress.type === "finished") resolve();
      else if (progress.type === "failed") reject(new Error(progress.error.message));
      else return;
      off();
    });
  });
  await elmwood.service.call("models.import", { path: checkpointDir, name, precision: "fp32" });
  await finished;
}
