/**
 * Changing the data folder from Settings in Debian's Chromium, against `elmwood serve` started as a
 * person starts it, without ELMWOOD_HOME: the app-data folder is $XDG_DATA_HOME/elmwood, pointed at a
 * temp folder (Linux only: elsewhere that folder is not under an environment variable, and a test must
 * never reach the real one). The move is scheduled, the server restarted, and the conversations are
 * in the new folder.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./support/accessibility.ts";
import { browserMissing } from "./support/available.ts";
import type { Browser } from "./support/browser.ts";
import { closeE2e, e2eFolder, openPage } from "./support/e2e-run.ts";
import { type Elmwood, startElmwood } from "./support/elmwood-server.ts";

const skipped = browserMissing || process.platform !== "linux";
let root: string;
let xdg: string;
let elmwood: Elmwood;
let browser: Browser;

beforeAll(async () => {
  if (skipped) return;
  root = await e2eFolder("data-folder");
  xdg = join(root, "xdg");
  elmwood = await startElmwood("", { xdgDataHome: xdg });
  browser = await openPage(elmwood);
}, 300_000);

afterAll(() => closeE2e({ browser, elmwood, root }));

describe.skipIf(skipped)("changing the data folder", () => {
  it("schedules the move from Settings, and the restarted server uses the new folder", async () => {
    const { page } = browser;
    const base = join(xdg, "elmwood");
    const target = join(root, "new data");
    const { id } = await elmwood.call("conversations.create", { title: "Kept across the move" });
    expect((await elmwood.call("storage.get", {})).dataFolder).toBe(base);

    await page.getByRole("button", { name: "Settings", exact: true }).click();
    await page.getByRole("textbox", { name: "New data folder" }).fill(target);
    await page.getByRole("button", { name: "Change data folder" }).click();
    await page.getByText(`The data folder will move to ${target} when Elmwood starts next`).waitFor();
    await page.getByText("Stop Elmwood's server (elmwood serve or npm run serve)").waitFor();
    await expectAccessible(page, "settings, data folder move scheduled");
    await page.getByRole("heading", { name: "Data and models" }).scrollIntoViewIfNeeded();
    await browser.screenshot("settings-data-folder-scheduled");
    // Nothing moved yet: the database is open.
    expect(existsSync(target)).toBe(false);

    await elmwood.stop();
    elmwood = await startElmwood("", { xdgDataHome: xdg });
    const info = await elmwood.call("storage.get", {});
    expect(info).toMatchObject({ dataFolder: target, dataMove: null, dataMoved: { from: base, to: target } });
    expect(JSON.parse(await readFile(join(base, "profile-location.json"), "utf8")).home).toBe(target);
    expect(existsSync(join(base, "elmwood.db"))).toBe(false);
    const { conversations } = await elmwood.call("conversations.list", {});
    expect(conversations.map((c) => c.id)).toContain(id);

    await page.goto(elmwood.url);
    await page.getByRole("button", { name: "Settings", exact: true }).click();
    await page.getByText(`Elmwood moved the data folder here from ${base} when it started.`).waitFor();
    expect(await page.locator("dd code").first().textContent()).toBe(target);
    await expectAccessible(page, "settings, data folder moved");
  });

  it("ran without errors in the page", () => {
    // The old server's event stream, cut by its restart, is the browser's own line.
    const problems = browser.problems.filter(
      (p) =>
        !/^Failed to load resource: net::ERR_(INCOMPLETE_CHUNKED_ENCODING|CONNECTION_REFUSED|EMPTY_RESPONSE)/.test(
          p,
        ),
    );
    expect(problems).toEqual([]);
  });
});
