/**
 * What every end-to-end test file does around its tests: a temporary folder once the renderer is
 * built, the page opened on Elmwood's address, replies kept short, and everything closed afterwards
 * in order (the page before the server it talks to, the folder last).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, openBrowser } from "./browser.ts";
import { ensureRendererBuilt } from "./build-renderer.ts";
import type { Elmwood } from "./elmwood-server.ts";

/** A fresh temporary folder for one test file, named after it; the renderer is built first. */
export async function e2eFolder(label: string): Promise<string> {
  await ensureRendererBuilt();
  return mkdtemp(join(tmpdir(), `elmwood-e2e-${label}-`));
}

/** Chromium with its page on Elmwood's address. */
export async function openPage(elmwood: Elmwood): Promise<Browser> {
  const browser = await openBrowser();
  await browser.page.goto(elmwood.url);
  return browser;
}

/** How many tokens a reply may have (the profile's sampling setting). */
export async function setReplyLength(elmwood: Elmwood, maxTokens: number): Promise<void> {
  const { sampling } = await elmwood.call("settings.get", {});
  await elmwood.call("settings.update", { sampling: { ...sampling, maxTokens } });
}

/**
 * Closes what a test file started, whichever of it did start: the page, then Elmwood, then the
 * file's own servers (`others`, in order), then removes its folder.
 */
export async function closeE2e(
  started: { browser?: Browser; elmwood?: Elmwood; root?: string },
  ...others: (() => Promise<unknown>)[]
): Promise<void> {
  await started.browser?.close();
  await started.elmwood?.stop();
  for (const close of others) await close();
  if (started.root) await rm(started.root, { recursive: true, force: true });
}
