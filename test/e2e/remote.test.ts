/**
 * A remote engine as a person uses one, in Debian's Chromium: Elmwood in browser mode with no model
 * of its own, and another Elmwood (`elmwood serve --api`, its own profile and a small model) as the
 * engine. The person adds it in Settings → Engines, makes its model the default, chats (streaming,
 * stop, regenerate), summarizes a file and asks about search results through it, and the window says
 * where the text is sent all along.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServeProcess, spawnServe } from "../server/serve-process.ts";
import { MODEL, makeServiceFixture, type ServiceFixture } from "../service/fixture.ts";
import { axeViolations } from "./support/accessibility.ts";
import { browserMissing } from "./support/available.ts";
import type { Browser } from "./support/browser.ts";
import { replies, replyFinished, send } from "./support/chat-page.ts";
import { closeE2e, e2eFolder, openPage, setReplyLength } from "./support/e2e-run.ts";
import { type Elmwood, startElmwood } from "./support/elmwood-server.ts";

const ENGINE_TOKEN = "e2e-remote-engine-token-0123456789";
const REMOTE = `peer/${MODEL}`;

let root: string;
let engineSide: ServiceFixture;
let engine: ServeProcess;
let host: string;
let elmwood: Elmwood;
let browser: Browser;

beforeAll(async () => {
  if (browserMissing) return;
  engineSide = await makeServiceFixture({ withModel: true });
  engine = await spawnServe(["--api", "--model", MODEL, "--provider", "cpu", "--threads", "1"], {
    ELMWOOD_HOME: engineSide.home,
    ELMWOOD_API_TOKEN: ENGINE_TOKEN,
  });
  host = new URL(engine.info.apiBaseUrl ?? "").host;
  root = await e2eFolder("remote");
  elmwood = await startElmwood(join(root, "home"));
  // Short replies keep the run quick; long enough to press Stop in the middle of one.
  await setReplyLength(elmwood, 96);
  browser = await openPage(elmwood);
}, 300_000);

afterAll(() =>
  closeE2e({ browser, elmwood, root }, async () => {
    if (engine && engine.child.exitCode === null) engine.child.kill("SIGTERM");
    await engine?.exited;
    await engineSide?.cleanup();
  }),
);

describe.skipIf(browserMissing)("a remote engine in the browser", () => {
  it("is added from the welcome screen's link to Settings → Engines, with its key, and lists its model", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Use its models (Settings → Engines)" }).click();
    await page.getByRole("textbox", { name: "Engine address (base URL)" }).fill(engine.info.apiBaseUrl ?? "");
    await page.getByRole("textbox", { name: "Name (optional)" }).fill("peer");
    await page.getByLabel("API key (optional)").fill(ENGINE_TOKEN);
    await page.getByRole("button", { name: "Add engine" }).click();
    const listed = page.getByRole("listitem", { name: "Engine peer" });
    await listed.waitFor();
    expect(await listed.textContent()).toContain(REMOTE);
    expect(await listed.textContent()).toContain("API key set");
    // The key went to the engine once and is not on the page.
    expect(await page.content()).not.toContain(ENGINE_TOKEN);
    expect(await page.getByLabel("API key (optional)").inputValue()).toBe("");
    await browser.screenshot("remote-engine-settings");
  });

  it("lists the remote model beside the local ones, with its host, and makes it the default", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Models", exact: true }).click();
    const model = page.getByRole("listitem", { name: REMOTE });
    await model.waitFor();
    expect(await model.textContent()).toContain(`Runs on ${host}`);
    await page.getByRole("button", { name: `Make ${REMOTE} the default model` }).click();
    await model.getByText("Default", { exact: true }).waitFor();
  });

  it("chats through it, saying where the conversation is sent, and stops and regenerates", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Chat", exact: true }).click();
    await page.getByRole("note", { name: "Where this conversation goes" }).waitFor();
    expect(await page.getByRole("region", { name: "Status" }).textContent()).toContain(`Sent to ${host}`);
    await send(page, "Hello there");
    await replyFinished(page);
    const reply = replies(page).last();
    expect((await reply.locator(".bubble").textContent())?.length).toBeGreaterThan(0);
    expect(await reply.textContent()).toContain(`sent to ${host}`);
    expect(await page.locator(".meter-count").textContent()).toMatch(/^~\d+ \/ 2,048 estimated$/);

    // A long reply, so Stop comes in the middle of it (the engine writes hundreds of tokens a second).
    const { conversations } = await elmwood.call("conversations.list", {});
    await elmwood.call("conversations.updateSettings", {
      id: conversations[0].id,
      sampling: { maxTokens: 1500 },
    });
    await send(page, "Tell me a long story");
    await page.locator('[data-testid="live-stats"]', { hasText: /^[1-9]\d* tokens/ }).waitFor();
    await page.getByRole("textbox", { name: "Message" }).press("Escape");
    await replyFinished(page);
    await expect.poll(() => replies(page).last().textContent()).toContain("stopped");
    await elmwood.call("conversations.updateSettings", {
      id: conversations[0].id,
      sampling: { maxTokens: 96 },
    });

    const last = replies(page).last();
    await last.hover();
    await last.getByRole("button", { name: "Regenerate reply" }).click();
    await replyFinished(page);
    await expect
      .poll(() => replies(page).last().getByRole("group", { name: "Versions" }).textContent())
      .toContain("2/2");
    await browser.screenshot("remote-chat");
  });

  it("summarizes a file with it, saying the text is sent there", async () => {
    const { page } = browser;
    const notes = join(root, "notes");
    await mkdir(notes, { recursive: true });
    await writeFile(join(notes, "elms.md"), "# Elms\n\nThe old elm by the canal is two hundred years old.\n");
    await page.getByRole("button", { name: "Documents", exact: true }).click();
    await page
      .getByRole("note")
      .filter({ hasText: `Summaries are written by ${REMOTE}` })
      .waitFor();
    await page.getByRole("textbox", { name: "File" }).fill(join(notes, "elms.md"));
    await page.getByRole("button", { name: "Summarize" }).click();
    await page.getByRole("list", { name: "Parts of the document" }).waitFor({ timeout: 60_000 });
  });

  it("answers 'Ask about these results' with it", async () => {
    const { page } = browser;
    await page.getByRole("textbox", { name: "Folder" }).fill(join(root, "notes"));
    await page.getByRole("button", { name: "Add to search" }).click();
    await page.getByText(/^Indexed: 1 files/).waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("searchbox", { name: "Search documents" }).pressSequentially("elm", { delay: 30 });
    await expect.poll(() => page.locator(".search-hit").count()).toBe(1);
    await page
      .getByRole("note")
      .filter({ hasText: `the text is sent to ${host}` })
      .waitFor();
    await page.getByRole("button", { name: "Ask about these results" }).click();
    const answer = page.getByRole("region", { name: "Answer" });
    await expect.poll(() => answer.textContent(), { timeout: 60_000 }).not.toMatch(/^Reading the sources…$/);
    await page.getByRole("button", { name: "Ask about these results" }).waitFor();
  });

  it("passes axe-core with the engines, the remote model and the conversation on screen", async () => {
    const { page } = browser;
    const violations: string[] = [];
    await page.getByRole("button", { name: "Settings", exact: true }).click();
    await page.getByRole("listitem", { name: "Engine peer" }).waitFor();
    violations.push(...(await axeViolations(page, "settings with an engine")));
    await page.getByRole("button", { name: "Change key for peer" }).click();
    await page.getByRole("dialog", { name: "API key for peer" }).waitFor();
    violations.push(...(await axeViolations(page, "the key dialog")));
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: "Models", exact: true }).click();
    violations.push(...(await axeViolations(page, "models with a remote model")));
    await page.getByRole("button", { name: "Chat", exact: true }).click();
    await page.locator(".conversation-open").first().click();
    await replies(page).first().waitFor();
    violations.push(...(await axeViolations(page, "a remote conversation")));
    await page.getByRole("button", { name: "Conversation settings" }).click();
    await page.getByRole("dialog", { name: "Conversation settings" }).waitFor();
    violations.push(...(await axeViolations(page, "the model picker")));
    await page.keyboard.press("Escape");
    expect(violations).toEqual([]);
  });

  it("ran without errors in the page", () => {
    expect(browser.problems).toEqual([]);
  });
});
