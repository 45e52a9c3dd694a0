/**
 * Conversations as a person handles them, in Debian's Chromium against Elmwood in browser mode with
 * a small random model: finding one from the sidebar with the words marked, a reply cut short by
 * unloading the model and by killing Elmwood (kept, marked, regenerated), and export and import.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../engine/store/database.ts";
import { browserMissing } from "./support/available.ts";
import type { Browser } from "./support/browser.ts";
import { replies, replyFinished, send } from "./support/chat-page.ts";
import { closeE2e, e2eFolder, openPage, setReplyLength } from "./support/e2e-run.ts";
import { type Elmwood, importModel, startElmwood } from "./support/elmwood-server.ts";

let root: string;
let home: string;
let elmwood: Elmwood;
let browser: Browser;

/**
 * Takes out the page's problems logged since `from` that `expected` allows (the browser's own
 * line for a request a test cut short or had refused on purpose); anything else stays to fail the
 * clean-run check.
 */
function allowProblems(from: number, expected: RegExp): string[] {
  const since = browser.problems.splice(from);
  const allowed = since.filter((p) => expected.test(p));
  browser.problems.push(...since.filter((p) => !expected.test(p)));
  return allowed;
}

/** What the database holds of replies in progress, read from outside the server. */
function savedReplies(): { content: string }[] {
  const db = openDatabase(join(home, "elmwood.db"));
  try {
    return db.prepare("SELECT content FROM chat_replies_in_progress").all() as { content: string }[];
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  if (browserMissing) return;
  root = await e2eFolder("conversations");
  home = join(root, "home");
  elmwood = await startElmwood(home);
  await importModel(elmwood, join(root, "checkpoint"), "tiny-instruct");
  await setReplyLength(elmwood, 12);
  browser = await openPage(elmwood);
}, 300_000);

afterAll(() => closeE2e({ browser, elmwood, root }));

describe.skipIf(browserMissing)("conversations in the browser", () => {
  it("finds a conversation from the sidebar as you type, with the matched words marked", async () => {
    const { page } = browser;
    await page.getByRole("textbox", { name: "Message" }).waitFor();
    await send(page, "Where does the kingfisher nest along the river?");
    await replyFinished(page);
    await page.keyboard.press("Control+n");
    const search = page.getByRole("searchbox", { name: "Search conversations" });
    await search.pressSequentially("kingf", { delay: 30 });
    const found = page.getByRole("list", { name: "Conversations found" });
    await found.waitFor();
    // The word being typed matched as a prefix, and the whole word is marked, in the title and the message.
    await expect.poll(() => found.locator(".snippet mark").first().textContent()).toBe("kingfisher");
    await expect.poll(() => found.locator("strong mark").first().textContent()).toBe("kingfisher");
    await browser.screenshot("conversation-search");
    await found.getByRole("button").first().click();
    await expect
      .poll(() => page.getByRole("heading", { level: 1 }).textContent())
      .toBe("Where does the kingfisher nest along the river?");
    await search.fill("");
  });

  it("stops the reply when the model is unloaded from the Models page, keeps it and says why", async () => {
    const { page } = browser;
    await setReplyLength(elmwood, 2000);
    await page.keyboard.press("Control+n");
    await send(page, "Tell me a very long story");
    await page.locator('[data-testid="live-stats"]', { hasText: /^([3-9]|\d{2,}) tokens/ }).waitFor();
    await page.getByRole("button", { name: "Models", exact: true }).click();
    await page.getByRole("button", { name: "Unload from memory" }).click();
    await page.locator(".toast-title", { hasText: "A reply was interrupted" }).waitFor();
    await page.getByRole("button", { name: "Chat", exact: true }).click();
    const note = replies(page).last().getByRole("note", { name: "Interrupted reply" });
    await expect
      .poll(() => note.textContent())
      .toContain("the model was unloaded while this reply was being written");
    expect((await replies(page).last().locator(".bubble").textContent())?.length).toBeGreaterThan(0);
    await browser.screenshot("chat-interrupted");
  });

  it("keeps a reply being written when Elmwood is killed, marked interrupted, and regenerates it", async () => {
    const { page } = browser;
    await page.keyboard.press("Control+n");
    await send(page, "Tell me everything about elms");
    await page.locator('[data-testid="live-stats"]', { hasText: /^([3-9]|\d{2,}) tokens/ }).waitFor();
    // Killed only once the server has saved some of the reply.
    await expect.poll(() => savedReplies()[0]?.content ?? "", { timeout: 30_000 }).toMatch(/\S/);
    const beforeKill = browser.problems.length;
    await elmwood.kill();
    elmwood = await startElmwood(home);
    await page.goto(elmwood.url);
    await page.getByRole("button", { name: "Tell me everything about elms", exact: true }).click();
    const reply = replies(page).last();
    await expect
      .poll(() => reply.getByRole("note", { name: "Interrupted reply" }).textContent())
      .toContain("Elmwood stopped while this reply was being written");
    // The event stream the kill cut off, and the old server's port refusing the page's reconnection.
    allowProblems(
      beforeKill,
      /^Failed to load resource: net::ERR_(INCOMPLETE_CHUNKED_ENCODING|CONNECTION_REFUSED|EMPTY_RESPONSE)( at \S+)?$/,
    );
    expect((await reply.locator(".bubble").textContent())?.length).toBeGreaterThan(0);

    await setReplyLength(elmwood, 8);
    const { conversations } = await elmwood.call("conversations.list", {});
    const id = conversations.find((c) => c.title === "Tell me everything about elms")?.id ?? "";
    await elmwood.call("conversations.updateSettings", { id, sampling: { maxTokens: 8 } });
    await reply.getByRole("button", { name: "Regenerate", exact: true }).click();
    await replyFinished(page);
    const versions = replies(page).last().getByRole("group", { name: "Versions" });
    await expect.poll(() => versions.textContent()).toContain("2/2");
    expect(await replies(page).last().getByRole("note", { name: "Interrupted reply" }).count()).toBe(0);
  });

  it("exports a conversation as Markdown and as JSON from its menu, and imports the JSON back", async () => {
    const { page } = browser;
    const title = "Where does the kingfisher nest along the river?";
    const menu = () => page.getByRole("button", { name: `More actions for ${title}` });

    await menu().click();
    const [markdown] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("menuitem", { name: "Export as Markdown" }).click(),
    ]);
    expect(markdown.suggestedFilename()).toBe("Where does the kingfisher nest along the river.md");
    const md = await readFile((await markdown.path()) ?? "", "utf8");
    expect(md).toMatch(/^# Where does the kingfisher nest along the river\?\n/);
    expect(md).toContain("- **Model:** tiny-instruct");
    expect(md).toContain("### You\n\nWhere does the kingfisher nest along the river?");

    await menu().click();
    const [json] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("menuitem", { name: "Export as JSON" }).click(),
    ]);
    const exported = JSON.parse(await readFile((await json.path()) ?? "", "utf8"));
    expect(exported).toMatchObject({ format: "elmwood.conversation", title, models: ["tiny-instruct"] });

    const file = join(root, "kingfisher.json");
    await writeFile(file, JSON.stringify(exported));
    await page.locator('input[type="file"][aria-label="Conversation file to import"]').setInputFiles(file);
    await page.locator(".toast-title", { hasText: `Imported “${title}”` }).waitFor();
    await expect.poll(() => page.getByRole("button", { name: title, exact: true }).count()).toBe(2);
    await expect
      .poll(() => page.getByRole("article", { name: "You said" }).first().textContent())
      .toContain("Where does the kingfisher nest along the river?");
    expect(await replies(page).count()).toBe(exported.messages.length / 2);

    // A file that is not an Elmwood conversation is refused, saying so.
    const foreign = join(root, "foreign.json");
    await writeFile(foreign, JSON.stringify({ messages: [] }));
    const beforeRefusal = browser.problems.length;
    await page.locator('input[type="file"][aria-label="Conversation file to import"]').setInputFiles(foreign);
    await page.getByRole("alert").filter({ hasText: "This is not an Elmwood conversation" }).waitFor();
    await browser.screenshot("conversation-import-refused");
    expect(allowProblems(beforeRefusal, /status of 400 \(Bad Request\)( at \S+)?$/)).toHaveLength(1);
  });

  it("ran without errors in the page", () => {
    expect(browser.problems).toEqual([]);
  });
});
