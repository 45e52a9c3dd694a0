/**
 * Chat grounded in documents as a person uses it, in Debian's Chromium against Elmwood in browser
 * mode: the embedding model is downloaded from a fake hub on the Models page, a folder is attached to
 * a chat, the reply lists the passages it was given (which open and can be removed, and stay removed
 * in the next turn), and search says what matched each hit.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultEmbeddingEntry } from "../../models/embedding-catalog.ts";
import type { FakeHub } from "../support/fake-hub.ts";
import { randomBertFiles, TINY_BERT } from "../support/random-bert.ts";
import { browserMissing } from "./support/available.ts";
import type { Browser } from "./support/browser.ts";
import { replies, replyFinished, send } from "./support/chat-page.ts";
import { closeE2e, e2eFolder, openPage, setReplyLength } from "./support/e2e-run.ts";
import { type Elmwood, eventually, importModel, startElmwood, startHub } from "./support/elmwood-server.ts";

let root: string;
let docs: string;
let hub: FakeHub;
let elmwood: Elmwood;
let browser: Browser;
const entry = defaultEmbeddingEntry();

beforeAll(async () => {
  if (browserMissing) return;
  root = await e2eFolder("grounded");
  docs = join(root, "bills");
  await mkdir(docs);
  await writeFile(join(docs, "march.txt"), "The billing statement for March is due on the fifth of April.\n");
  await writeFile(join(docs, "phone.txt"), "The phone invoice lists three payments made in March.\n");
  hub = await startHub([{ id: entry.repoId, files: randomBertFiles({ ...TINY_BERT, seed: 4 }) }]);
  elmwood = await startElmwood(join(root, "home"), { hubUrl: hub.url });
  await importModel(elmwood, join(root, "checkpoint"), "tiny-instruct");
  await setReplyLength(elmwood, 24);
  browser = await openPage(elmwood);
}, 300_000);

afterAll(() =>
  closeE2e({ browser, elmwood, root }, async () => {
    await hub?.close();
  }),
);

describe.skipIf(browserMissing)("chat grounded in documents", () => {
  it("downloads the embedding model from the Models page", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Models", exact: true }).click();
    const card = page.getByRole("listitem", { name: entry.name });
    // The button shows "Download (size)"; its name adds the model.
    await card.getByRole("button", { name: new RegExp(`^Download \\(.+\\): ${entry.name}$`) }).click();
    await card.getByText(/^Installed: search finds passages by meaning/).waitFor({ timeout: 60_000 });
    await browser.screenshot("models-embedding");
  });

  it("attaches a folder to a chat and lists it", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Chat", exact: true }).click();
    await page.getByRole("button", { name: "Attach documents to this chat" }).click();
    await page.getByRole("textbox", { name: "Folder or file" }).fill(docs);
    await page.getByRole("button", { name: "Attach", exact: true }).click();
    const attached = page.getByRole("list", { name: "Documents this conversation draws on" });
    await attached.getByText("bills").waitFor();
    await eventually("the folder's passages to have vectors", async () => {
      const status = await elmwood.call("documents.status", {});
      return status.meaning.state === "ready" && status.meaning.total === 2 ? true : undefined;
    });
  });

  it("answers with the passages it was given, which open and can be removed", async () => {
    const { page } = browser;
    await send(page, "When is the billing statement due?");
    await replyFinished(page);
    // The chat became a conversation when the folder was attached; its first message names it.
    await expect
      .poll(() => page.getByRole("heading", { level: 1 }).textContent())
      .toContain("When is the billing");
    const sources = replies(page).last().getByRole("region", { name: "Sources used" });
    await sources.waitFor();
    await expect.poll(() => sources.locator("li").count()).toBe(2);
    const march = sources.locator("li", { hasText: "march.txt" });
    await march.locator("summary").click();
    await march.getByText("due on the fifth of April").waitFor();
    await browser.screenshot("chat-grounded");
    await march
      .getByRole("button", { name: /^Remove source \d, march\.txt, from this conversation$/ })
      .click();
    await march.getByText("Removed").waitFor();
  });

  it("leaves the removed passage out of the next turn", async () => {
    const { page } = browser;
    await send(page, "And the phone bill?");
    await replyFinished(page);
    const sources = replies(page).last().getByRole("region", { name: "Sources used" });
    await sources.waitFor();
    await expect.poll(() => sources.locator("li").count()).toBe(1);
    await expect.poll(() => sources.textContent()).toContain("phone.txt");
  });

  it("says on the Search page whether words, meaning or both matched", async () => {
    const { page } = browser;
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page
      .getByRole("searchbox", { name: "Search documents" })
      .pressSequentially("billing", { delay: 20 });
    const hit = page.locator(".search-hit", { hasText: "march.txt" });
    await hit.waitFor();
    await expect.poll(() => hit.locator(".badge.matched-both").count()).toBe(1);
    await browser.screenshot("search-meaning");
  });

  it("ran without errors in the page", () => {
    expect(browser.problems).toEqual([]);
  });
});
