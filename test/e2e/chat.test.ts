/**
 * The chat as a person uses it, in Debian's Chromium against Elmwood in browser mode with a small
 * random model: streaming, stop, regenerate, edit and branch, and a restart.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations } from "./support/accessibility.ts";
import { browserMissing } from "./support/available.ts";
import type { Browser } from "./support/browser.ts";
import {
  questions,
  recordStreaming,
  replies,
  replyFinished,
  send,
  streamedLengths,
} from "./support/chat-page.ts";
import { closeE2e, e2eFolder, openPage, setReplyLength } from "./support/e2e-run.ts";
import { type Elmwood, importModel, startElmwood } from "./support/elmwood-server.ts";

let root: string;
let home: string;
let elmwood: Elmwood;
let browser: Browser;

beforeAll(async () => {
  if (browserMissing) return;
  root = await e2eFolder("chat");
  home = join(root, "home");
  elmwood = await startElmwood(home);
  await importModel(elmwood, join(root, "checkpoint"), "tiny-instruct");
  // Short replies keep the run quick; long enough to press Stop in the middle of one.
  await setReplyLength(elmwood, 96);
  browser = await openPage(elmwood);
}, 300_000);

afterAll(() => closeE2e({ browser, elmwood, root }));

describe.skipIf(browserMissing)("chat in the browser", () => {
  it("streams the reply to a sent message token by token", async () => {
    const { page } = browser;
    await page.getByRole("textbox", { name: "Message" }).waitFor();
    await recordStreaming(page);
    await send(page, "Hello there");
    await replyFinished(page);
    const lengths = await streamedLengths(page);
    // The reply grew on screen in several steps before it was saved.
    expect(lengths.filter((n) => n > 0).length).toBeGreaterThanOrEqual(3);
    expect(await replies(page).count()).toBe(1);
    await expect.poll(() => page.getByRole("button", { name: /More actions for/ }).count()).toBe(1);
    await browser.screenshot("chat");
  });

  it("stops the reply with Escape and keeps what was written", async () => {
    const { page } = browser;
    await send(page, "Tell me a long story");
    await page.locator('[data-testid="live-stats"]', { hasText: /^[1-9]\d* tokens/ }).waitFor();
    await page.getByRole("textbox", { name: "Message" }).press("Escape");
    await replyFinished(page);
    await expect.poll(() => replies(page).last().textContent()).toContain("stopped");
  });

  it("regenerates a reply and keeps the old one one arrow away", async () => {
    const { page } = browser;
    const last = replies(page).last();
    const before = await last.locator(".bubble").textContent();
    await last.hover();
    await last.getByRole("button", { name: "Regenerate reply" }).click();
    await replyFinished(page);
    const versions = replies(page).last().getByRole("group", { name: "Versions" });
    await expect.poll(() => versions.textContent()).toContain("2/2");
    await versions.getByRole("button", { name: "Previous version" }).click();
    await expect.poll(() => replies(page).last().locator(".bubble").textContent()).toBe(before);
    await expect
      .poll(() => replies(page).last().getByRole("group", { name: "Versions" }).textContent())
      .toContain("1/2");
  });

  it("edits an earlier message into a new branch and can go back to the old one", async () => {
    const { page } = browser;
    expect(await questions(page).count()).toBe(2);
    const first = questions(page).first();
    await first.hover();
    await first.getByRole("button", { name: "Edit message" }).click();
    await page.getByRole("textbox", { name: "Edit message" }).fill("Hello again, edited");
    await page.getByRole("button", { name: "Save and send" }).click();
    await replyFinished(page);
    // The new branch has the edited question and one reply; the second exchange stayed behind.
    await expect.poll(() => questions(page).count()).toBe(1);
    await expect.poll(() => questions(page).first().textContent()).toContain("Hello again, edited");
    const versions = questions(page).first().getByRole("group", { name: "Versions" });
    await expect.poll(() => versions.textContent()).toContain("2/2");
    await browser.screenshot("chat-branch");
    await versions.getByRole("button", { name: "Previous version" }).click();
    await expect.poll(() => questions(page).count()).toBe(2);
    await expect.poll(() => questions(page).first().textContent()).toContain("Hello there");
  });

  it("finds the conversation again after the server restarts", async () => {
    const { page } = browser;
    const title = (await page.getByRole("heading", { level: 1 }).textContent()) ?? "";
    await elmwood.stop();
    elmwood = await startElmwood(home);
    await page.goto(elmwood.url);
    // While the server was down the old page's event stream may have tried to reconnect: on purpose.
    browser.forgive(/ERR_CONNECTION_REFUSED at http:\/\/127\.0\.0\.1:\d+\/api\/events$/);
    await page.getByRole("button", { name: title, exact: true }).click();
    await expect.poll(() => questions(page).count()).toBe(2);
    await expect.poll(() => questions(page).first().textContent()).toContain("Hello there");
  });

  it("reads a message ahead while it is typed, so its reply computes only the last prompt token", async () => {
    const { page } = browser;
    // The restarted server has no model in memory yet: the first reply loads it.
    await send(page, "Three");
    await replyFinished(page);
    const text = "And four, please";
    const box = page.getByRole("textbox", { name: "Message" });
    const prepared = page.waitForResponse(async (response) => {
      if (!response.url().endsWith("/api/call/chat.prepare")) return false;
      if (
        !response
          .request()
          .postData()
          ?.includes(`"content":${JSON.stringify(text)}`)
      )
        return false;
      return (await response.json()).value?.prepared === true;
    });
    await box.pressSequentially(text, { delay: 20 });
    await prepared;
    await box.press("Enter");
    await replyFinished(page);
    const { conversations } = await elmwood.call("conversations.list", { limit: 1, offset: 0 });
    const conversation = await elmwood.call("conversations.get", { id: conversations[0].id });
    const stats = conversation.messages.at(-1)?.stats;
    expect(conversation.messages.at(-2)?.content).toBe(text);
    // Everything but the prompt's last token was in the cache when Send was pressed.
    expect(stats?.reusedTokens).toBe((stats?.promptTokens ?? 0) - 1);
  });

  it("starts a new chat from the keyboard with Ctrl+N, ready to type", async () => {
    const { page } = browser;
    await page.keyboard.press("Control+n");
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("New chat");
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label")))
      .toBe("Message");
  });

  it("indexes a folder and finds its words as you type, highlighted", async () => {
    const { page } = browser;
    const notes = join(root, "notes");
    await mkdir(notes);
    await writeFile(join(notes, "trees.md"), "# Trees\n\nThe elm tree grows tall beside the river.\n");
    await writeFile(join(notes, "boats.txt"), "A rowing boat is moored on the river bank.\n");
    await page.getByRole("button", { name: "Documents", exact: true }).click();
    await page.getByRole("textbox", { name: "Folder" }).fill(notes);
    await page.getByRole("button", { name: "Add to search" }).click();
    await page.getByText(/^Indexed: 2 files/).waitFor({ timeout: 60_000 });
    await browser.screenshot("documents");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("searchbox", { name: "Search documents" }).pressSequentially("river", { delay: 30 });
    await expect.poll(() => page.locator(".search-hit").count()).toBe(2);
    await expect.poll(() => page.locator(".search-hit mark").first().textContent()).toMatch(/^river$/i);
    await browser.screenshot("search");
  });

  it("summarizes a file, showing its parts as they are read, and the summary when done", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Documents", exact: true }).click();
    await page.getByRole("textbox", { name: "File" }).fill(join(root, "notes", "trees.md"));
    await page.getByRole("button", { name: "Summarize" }).click();
    await page.getByRole("heading", { name: "Summary of trees.md" }).waitFor();
    const parts = page.getByRole("list", { name: "Parts of the document" });
    await parts.waitFor({ timeout: 60_000 });
    // Focusing a sentence of the summary highlights the part it came from (the only one here).
    await page.locator(".summary-sentence").first().focus();
    await expect.poll(() => parts.locator("li.source").count()).toBe(1);
    await browser.screenshot("summary");
  });

  it("summarizes a text file dropped anywhere in the window", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Chat", exact: true }).click();
    const dataTransfer = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(
        new File(["Elms line the old canal. Herons fish there."], "canal.txt", { type: "text/plain" }),
      );
      return transfer;
    });
    await page.dispatchEvent("main", "dragenter", { dataTransfer });
    await page.dispatchEvent("main", "drop", { dataTransfer });
    await page.getByRole("heading", { name: "Summary of canal.txt" }).waitFor();
    await page.getByRole("list", { name: "Parts of the document" }).waitFor({ timeout: 60_000 });
  });

  it("passes axe-core on every screen, and with each menu, dialog and drawer open, light and dark", async () => {
    const { page } = browser;
    const violations: string[] = [];
    const place = (name: string) => page.getByRole("button", { name, exact: true }).click();
    for (const theme of ["light", "dark"] as const) {
      await place("Settings");
      await page.getByRole("radio", { name: theme === "light" ? "Light" : "Dark" }).check();
      await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);

      // A conversation with replies on screen, its actions shown on hover.
      await place("Chat");
      await page.locator(".conversation-open").first().click();
      await replies(page).first().waitFor();
      await replies(page).last().hover();
      violations.push(...(await axeViolations(page, `${theme} chat`)));

      // An icon button's tooltip, as focus from the keyboard shows it.
      await page.getByRole("button", { name: "Conversation settings" }).focus();
      await page.getByRole("tooltip", { name: "Conversation settings" }).waitFor();
      violations.push(...(await axeViolations(page, `${theme} chat with a tooltip`)));
      await browser.screenshot(`tooltip-${theme}`);

      await page.getByRole("button", { name: "Conversation settings" }).click();
      await page.getByRole("dialog", { name: "Conversation settings" }).waitFor();
      violations.push(...(await axeViolations(page, `${theme} conversation settings drawer`)));
      await page.keyboard.press("Escape");
      await page.getByRole("dialog", { name: "Conversation settings" }).waitFor({ state: "hidden" });

      const rowMenu = page.getByRole("button", { name: /^More actions for / }).first();
      await rowMenu.click();
      await page.getByRole("menu").waitFor();
      violations.push(...(await axeViolations(page, `${theme} conversation menu`)));
      await browser.screenshot(`conversation-menu-${theme}`);
      await page.getByRole("menuitem", { name: "Rename…" }).click();
      await page.getByRole("dialog", { name: "Rename conversation" }).waitFor();
      violations.push(...(await axeViolations(page, `${theme} rename dialog`)));
      await page.keyboard.press("Escape");
      await rowMenu.click();
      await page.getByRole("menuitem", { name: "Delete…" }).click();
      await page.getByRole("dialog", { name: "Delete this conversation?" }).waitFor();
      violations.push(...(await axeViolations(page, `${theme} delete dialog`)));
      await page.keyboard.press("Escape");
      await page.getByRole("dialog").waitFor({ state: "hidden" });

      // The folder list and the last summary, with its parts; then an error with its way forward.
      await place("Documents");
      await page.getByRole("list", { name: "Parts of the document" }).waitFor();
      violations.push(...(await axeViolations(page, `${theme} documents with a summary`)));
      await page.getByRole("textbox", { name: "Folder" }).fill(join(root, "no such folder"));
      await page.getByRole("button", { name: "Add to search" }).click();
      await page.getByRole("alert").waitFor();
      violations.push(...(await axeViolations(page, `${theme} documents with an error`)));
      await page.getByRole("button", { name: "Dismiss" }).click();
      // The browser logs the refused call (a 404); that one was on purpose.
      expect(browser.forgive(/status of 404 .* at .*\/api\/call\/documents\.addFolder$/)).toBe(1);

      // The sidebar collapsed to its icons.
      await page.keyboard.press("Control+b");
      await page.locator(".sidebar.collapsed").waitFor();
      violations.push(...(await axeViolations(page, `${theme} collapsed sidebar`)));
      await page.keyboard.press("Control+b");
      await page.locator(".sidebar:not(.collapsed)").waitFor();

      // Results as typed, then an answer about them with its citations.
      await place("Search");
      await expect.poll(() => page.locator(".search-hit").count()).toBeGreaterThan(0);
      violations.push(...(await axeViolations(page, `${theme} search results`)));
      if (theme === "light") {
        await page.getByRole("button", { name: "Ask about these results" }).click();
        const answer = page.getByRole("region", { name: "Answer" });
        await expect
          .poll(() => answer.textContent(), { timeout: 60_000 })
          .not.toMatch(/^Reading the sources…$/);
        await page.getByRole("button", { name: "Ask about these results" }).waitFor();
      }
      violations.push(...(await axeViolations(page, `${theme} search with an answer`)));
      await browser.screenshot(`search-answer-${theme}`);

      await place("Models");
      await page.getByText("Default", { exact: true }).waitFor();
      violations.push(...(await axeViolations(page, `${theme} models`)));
      await place("Settings");
      violations.push(...(await axeViolations(page, `${theme} settings`)));
    }
    await page.getByRole("radio", { name: "Same as the system" }).check();
    expect(violations).toEqual([]);
  });

  it("ran without errors in the page", () => {
    expect(browser.problems).toEqual([]);
  });
});
