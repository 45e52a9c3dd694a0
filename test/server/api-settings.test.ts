import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { elmwoodPaths } from "../../engine/paths.ts";
import {
  loadApiSettings,
  regenerateApiToken,
  resolveApiToken,
  updateApiSettings,
} from "../../engine/settings/api-settings.ts";

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "elmwood-api-settings-"));
});
afterEach(async () => rm(home, { recursive: true, force: true }));

describe("the local API's settings", () => {
  it("start off, on the default port, with a token only the owner can read", async () => {
    const paths = elmwoodPaths(home);
    const first = await loadApiSettings(paths);
    expect(first).toMatchObject({ enabled: false, port: 4862, allowRemote: false });
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    expect((await loadApiSettings(paths)).token).toBe(first.token);
    if (process.platform !== "win32") expect((await stat(join(home, "api.json"))).mode & 0o077).toBe(0);
  });

  it("keep a switch and port, and a regenerated token replaces the old one", async () => {
    const paths = elmwoodPaths(home);
    const before = await loadApiSettings(paths);
    expect(await updateApiSettings({ enabled: true, port: 9000 }, paths)).toMatchObject({
      enabled: true,
      port: 9000,
    });
    const after = await regenerateApiToken(paths);
    expect(after.token).not.toBe(before.token);
    expect(await loadApiSettings(paths)).toEqual({ ...after, enabled: true, port: 9000 });
    await expect(updateApiSettings({ port: 70_000 }, paths)).rejects.toMatchObject({ code: "BAD_INPUT" });
  });

  it("take ELMWOOD_API_TOKEN over the stored token, and refuse a weak one", async () => {
    const paths = elmwoodPaths(home);
    const stored = (await loadApiSettings(paths)).token;
    expect(await resolveApiToken(paths, {})).toBe(stored);
    expect(await resolveApiToken(paths, { ELMWOOD_API_TOKEN: "a-long-enough-token-123" })).toBe(
      "a-long-enough-token-123",
    );
    await expect(resolveApiToken(paths, { ELMWOOD_API_TOKEN: "short" })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("ELMWOOD_API_TOKEN"),
    });
  });

  it("replace a damaged file with fresh settings rather than failing", async () => {
    const paths = elmwoodPaths(home);
    await writeFile(join(home, "api.json"), "{ not json");
    const settings = await loadApiSettings(paths);
    expect(settings.enabled).toBe(false);
    expect(JSON.parse(await readFile(join(home, "api.json"), "utf8")).token).toBe(settings.token);
  });
});
