import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeHub } from "../support/fake-hub.ts";
import { expectAccessible, unnamedControls } from "./support/accessibility.ts";
import { browserMissing } from "./support/available.ts";
import type { Browser } from "./support/browser.ts";
import { closeE2e, e2eFolder, openPage } from "./support/e2e-run.ts";
import { checkpointFiles, type Elmwood, startElmwood, startHub } from "./support/elmwood-server.ts";

let root: string;
let hub: FakeHub;
let elmwood: Elmwood;
let browser: Browser;
let repo: string;

beforeAll(async () => {
  if (browserMissing) return;
  root = await e2eFolder("models");
  hub = await startHub([]);
  elmwood = await startElmwood(join(root, "home"), { hubUrl: hub.url });
  // The welcome screen offers whichever model the catalog recommends for this machine.
  const catalog = await elmwood.call("models.catalog", {});
  repo = catalog.entries.find((entry) => entry.slug === catalog.recommended)?.repoId ?? "";
  hub.setRepo({ id: repo, files: await checkpointFiles(join(root, "checkpoint"), 3) });
  // The first download of the weights sends a little and then nothing: it is still running when paused.
  hub.fault(`${repo}/model.safetensors`, { kind: "stall", afterBytes: 64 * 1024 });
  browser = await openPage(elmwood);
}, 300_000);

afterAll(() =>
  closeE2e({ browser, elmwood, root }, async () => {
    await hub?.close();
  }),
);

describe.skipIf(browserMissing)("first run", () => {
  it("recommends a model and downloads it with one button, showing progress", async () => {
    const { page } = browser;
    const name = repo.split("/")[1];
    await page.getByRole("heading", { name: "Welcome to Elmwood" }).waitFor();
    await expectAccessible(page, "welcome");
    await browser.screenshot("welcome");
    await page.getByRole("button", { name: new RegExp(`^Download ${name}`) }).click();
    const bar = page.getByRole("progressbar", { name: `Downloading ${name}` });
    await bar.waitFor();
    await expect.poll(() => page.locator(".progress-text").first().textContent()).toMatch(/ of /);
    await expectAccessible(page, "welcome, downloading");
    await browser.screenshot("welcome-downloading");
  });

  it("pauses the download, keeping what arrived, and resumes it to the end", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByRole("button", { name: "Resume" }).waitFor();
    await expect.poll(() => page.locator(".progress-text").first().textContent()).toMatch(/^Paused at/);
    await expectAccessible(page, "welcome, paused");
    await page.getByRole("button", { name: "Resume" }).click();
    // Installed: the welcome screen gives way to the chat, and a notification says so.
    await page.getByRole("textbox", { name: "Message" }).waitFor({ timeout: 120_000 });
    await page.locator(".toast-title", { hasText: / is installed$/ }).waitFor();
    await expectAccessible(page, "empty chat with a notification");
    const models = await elmwood.call("models.list", {});
    expect(models.models.map((m) => m.source.repoId)).toEqual([repo]);
  });

  it("shows the installed model as the default on the Models page, with its provider", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Models", exact: true }).click();
    await page.getByText("Default", { exact: true }).waitFor();
    await expectAccessible(page, "models");
    await browser.screenshot("models");
  });

  it("offers to delete the downloaded checkpoint once converted, keeping the model", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Models", exact: true }).click();
    const free = page.getByRole("button", { name: /^Free space: delete the downloaded checkpoint of / });
    await free.click();
    await expect.poll(() => free.count()).toBe(0);
    const { models } = await elmwood.call("models.list", {});
    expect(models).toHaveLength(1);
    expect(models[0].source).toMatchObject({ managed: true, present: false });
  });

  it("names every control on every main screen for screen readers", async () => {
    const { page } = browser;
    const unnamed: string[] = [];
    for (const place of ["Chat", "Documents", "Search", "Models", "Settings"]) {
      await page.getByRole("button", { name: place, exact: true }).click();
      unnamed.push(...(await unnamedControls(page)).map((line) => `${place}: ${line.trim()}`));
    }
    expect(unnamed).toEqual([]);
  });

  it("draws every main screen in the dark theme too", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Settings", exact: true }).click();
    await page.getByRole("radio", { name: "Dark" }).check();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    await expectAccessible(page, "settings, dark");
    await browser.screenshot("settings-dark");
    for (const place of ["Documents", "Search", "Models", "Chat"]) {
      await page.getByRole("button", { name: place, exact: true }).click();
      await expectAccessible(page, `${place}, dark`);
      await browser.screenshot(`${place.toLowerCase()}-dark`);
    }
    await page.getByRole("button", { name: "Conversation settings" }).click();
    await page.getByRole("dialog", { name: "Conversation settings" }).waitFor();
    await expectAccessible(page, "conversation settings drawer, dark");
    await browser.screenshot("drawer-dark");
    await page.keyboard.press("Escape");
  });

  it("turns the local API on from Settings, and a client can use the token it shows", async () => {
    const { page } = browser;
    const port = await freePort();
    await page.getByRole("button", { name: "Settings", exact: true }).click();
    const portField = page.getByRole("spinbutton", { name: "Port" });
    await portField.fill(String(port));
    await portField.press("Enter");
    await page.getByRole("checkbox", { name: "Turn on the local API" }).check();
    const baseUrl = `http://127.0.0.1:${port}/v1`;
    const apiStatus = page.locator("section[aria-labelledby=api-title] [role=status]");
    await expect.poll(() => apiStatus.textContent(), { timeout: 30_000 }).toBe(`Listening at ${baseUrl}`);
    const token = await page.getByRole("textbox", { name: "Token" }).inputValue();
    const answer = await fetch(`${baseUrl}/models`, { headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    await page.getByRole("textbox", { name: "Token" }).scrollIntoViewIfNeeded();
    await expectAccessible(page, "settings, API listening");
    await browser.screenshot("settings-api");
    await page.getByRole("checkbox", { name: "Turn on the local API" }).uncheck();
    await expect.poll(() => apiStatus.textContent()).toBe("Off");
  });

  it("moves the models folder to a typed folder from Settings, and the model is still there", async () => {
    const { page } = browser;
    const target = join(root, "moved models");
    await page.getByRole("button", { name: "Settings", exact: true }).click();
    await page.getByRole("textbox", { name: "New models folder" }).fill(target);
    await page.getByRole("button", { name: "Check folder" }).click();
    await page
      .getByText("The folder will be created, and the models moved into it.", { exact: false })
      .waitFor();
    await expectAccessible(page, "settings, a folder checked");
    await page.getByRole("button", { name: "Move models here" }).click();
    await page.getByText(`The models are in ${target} now.`).waitFor({ timeout: 60_000 });
    await expectAccessible(page, "settings, models moved");
    await page.getByRole("heading", { name: "Data and models" }).scrollIntoViewIfNeeded();
    await browser.screenshot("settings-models-moved");
    expect((await elmwood.call("storage.get", {})).modelsFolder).toBe(target);
    await page.getByRole("button", { name: "Models", exact: true }).click();
    await page.getByText("Default", { exact: true }).waitFor();
    const { models } = await elmwood.call("models.list", {});
    expect(models.map((m) => m.source.repoId)).toEqual([repo]);
  });

  it("ran without errors in the page", () => {
    expect(browser.problems).toEqual([]);
  });
});

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
