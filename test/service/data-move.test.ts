/**
 * storage.scheduleDataMove and storage.cancelDataMove through the service, and the next start that
 * runs the move: the app-data folder is a temp folder handed to the service (its `profile` option),
 * never the real one.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_PREPARE_OPTIONS } from "../../engine/documents/prepare.ts";
import { inlinePreparer } from "../../engine/documents/prepare-pool.ts";
import { llamaTokenCounter } from "../../engine/documents/tokens.ts";
import { elmwoodPaths, locateProfile, type ProfileLocation } from "../../engine/paths.ts";
import { applyPendingDataMove } from "../../engine/profile/data-move.ts";
import { LEASES_FOLDER } from "../../engine/profile/leases.ts";
import { ElmwoodService, type ElmwoodServiceOptions } from "../../engine/service.ts";

let root: string;
let base: string;
const open: ElmwoodService[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-service-data-"));
  base = join(root, "appdata");
});
afterEach(async () => {
  for (const service of open.splice(0)) await service.close();
  await rm(root, { recursive: true, force: true });
});

function start(options: Partial<ElmwoodServiceOptions> & { profile?: ProfileLocation } = {}) {
  const profile = options.profile ?? locateProfile({ base, env: {} });
  const service = new ElmwoodService({
    paths: elmwoodPaths(profile.home),
    profile,
    indexer: { preparer: inlinePreparer(DEFAULT_PREPARE_OPTIONS, llamaTokenCounter()), watch: false },
    ...options,
  });
  open.push(service);
  return service;
}

async function stop(service: ElmwoodService) {
  open.splice(open.indexOf(service), 1);
  await service.close();
}

describe("changing the data folder through the service", () => {
  it("schedules a move, reports it, cancels it, and refuses bad folders with a way forward", async () => {
    const service = start();
    expect(await service.call("storage.get", {})).toMatchObject({
      dataFolder: base,
      dataFolderMovable: true,
      dataMove: null,
      dataMoved: null,
    });
    await expect(service.call("storage.scheduleDataMove", { path: "new-place" })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("not a full path"),
    });
    await expect(
      service.call("storage.scheduleDataMove", { path: join(base, "inner") }),
    ).rejects.toMatchObject({
      code: "BAD_INPUT",
      hint: expect.stringContaining("outside"),
    });
    // The contract checks the input's shape first.
    await expect(service.call("storage.scheduleDataMove", { path: "" })).rejects.toMatchObject({
      code: "BAD_INPUT",
    });

    const to = join(root, "new-place");
    const info = await service.call("storage.scheduleDataMove", { path: to });
    // This service's own hold on the profile does not count: it is the one that will restart.
    expect(info.dataMove).toMatchObject({ state: "scheduled", to, error: null, blockedBy: [] });
    expect(info.dataFolder).toBe(base);

    // Another live Elmwood on the profile is named: the move would wait for it.
    await writeFile(
      join(base, LEASES_FOLDER, "other.json"),
      JSON.stringify({ pid: process.ppid, host: hostname(), purpose: "elmwood serve", since: "" }),
    );
    expect((await service.call("storage.get", {})).dataMove?.blockedBy).toEqual([
      `process ${process.ppid} (elmwood serve)`,
    ]);
    await rm(join(base, LEASES_FOLDER, "other.json"));

    expect((await service.call("storage.cancelDataMove", {})).dataMove).toBeNull();
    expect((await service.call("storage.get", {})).dataMove).toBeNull();
  });

  it("moves at the next start, before the database opens, with the conversations kept", async () => {
    const first = start();
    const conversation = await first.call("conversations.create", { title: "Before the move" });
    const to = join(root, "disk", "elmwood");
    await first.call("storage.scheduleDataMove", { path: to });
    await stop(first);

    // The next start: what main/index.ts and the CLI do before they open the profile.
    expect(await applyPendingDataMove({ base, env: {} })).toMatchObject({ state: "moved", from: base, to });
    const second = start();
    const info = await second.call("storage.get", {});
    expect(info).toMatchObject({ dataFolder: to, dataMove: null, dataMoved: { from: base, to } });
    expect(info.modelsFolder).toBe(to);
    const { conversations } = await second.call("conversations.list", {});
    expect(conversations.map((c) => c.id)).toContain(conversation.id);
  });

  it("refuses when ELMWOOD_HOME or the program that started it chose the data folder", async () => {
    await mkdir(base, { recursive: true });
    const fromEnv = start({ profile: locateProfile({ base, env: { ELMWOOD_HOME: base } }) });
    expect((await fromEnv.call("storage.get", {})).dataFolderMovable).toBe(false);
    await expect(
      fromEnv.call("storage.scheduleDataMove", { path: join(root, "elsewhere") }),
    ).rejects.toMatchObject({ code: "BAD_INPUT", message: expect.stringContaining("ELMWOOD_HOME") });

    const chosen = new ElmwoodService({ paths: elmwoodPaths(join(root, "chosen")) });
    open.push(chosen);
    expect(await chosen.call("storage.get", {})).toMatchObject({ dataFolderMovable: false, dataMove: null });
    await expect(
      chosen.call("storage.scheduleDataMove", { path: join(root, "elsewhere") }),
    ).rejects.toMatchObject({
      code: "BAD_INPUT",
    });
  });
});
