/** Controls the accessibility tree shows without a name: what a screen reader would read as just "button". */
import type { Page } from "playwright-core";

const CONTROL =
  /^\s*- (button|textbox|searchbox|combobox|checkbox|radio|spinbutton|slider|link|menuitem|switch)(?=\s*(\[[^\]]*\])?\s*(:|$))/;

export async function unnamedControls(page: Page): Promise<string[]> {
  const tree = await page.locator("body").ariaSnapshot();
  return tree.split("\n").filter((line) => CONTROL.test(line));
}
