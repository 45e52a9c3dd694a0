/** What a person does in the chat pane, as steps the end-to-end tests share. */
import type { Page } from "playwright-core";

export const replies = (page: Page) => page.getByRole("article", { name: "Elmwood replied" });
export const questions = (page: Page) => page.getByRole("article", { name: "You said" });

/** Starts recording how long the reply in flight is at every change the page makes to it. */
export async function recordStreaming(page: Page): Promise<void> {
  await page.evaluate(() => {
    const lengths: number[] = [];
    (window as unknown as { streamed: number[] }).streamed = lengths;
    new MutationObserver(() => {
      const reply = document.querySelector('[aria-label="Elmwood is replying"] .bubble');
      const length = reply?.textContent?.length ?? 0;
      if (reply && length !== lengths.at(-1)) lengths.push(length);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

export async function streamedLengths(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { streamed: number[] }).streamed);
}

/** Types a message and presses Enter, as a person would. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

/** Waits until no reply is being written. */
export async function replyFinished(page: Page, timeout = 60_000): Promise<void> {
  await page.getByRole("button", { name: "Send" }).waitFor({ timeout });
  await page.getByRole("article", { name: "Elmwood is replying" }).waitFor({ state: "detached", timeout });
}
