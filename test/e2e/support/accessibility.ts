/**
 * Accessibility checks on the page as it is on screen: axe-core (Deque's rule engine, the one browser
 * audits use) over the whole page, frames and open portals included, and a check of the accessibility
 * tree for controls a screen reader would read as just "button".
 */
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "playwright-core";
import { expect } from "vitest";

/** Every axe-core violation on the page now, one line per element: rule, impact, where, why. */
export async function axeViolations(page: Page, where: string): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.flatMap((violation) =>
    violation.nodes.map((node) => {
      const why = (node.failureSummary ?? "").split("\n").slice(1).join(" ").trim();
      return `${where}: ${violation.id} (${violation.impact ?? "?"}) at ${node.target.join(" > ")}: ${why}`;
    }),
  );
}

/** Fails with the list of violations, so a run says exactly what to fix. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  expect(await axeViolations(page, where)).toEqual([]);
}

const CONTROL =
  /^\s*- (button|textbox|searchbox|combobox|checkbox|radio|spinbutton|slider|link|menuitem|switch)(?=\s*(\[[^\]]*\])?\s*(:|$))/;

export async function unnamedControls(page: Page): Promise<string[]> {
  const tree = await page.locator("body").ariaSnapshot();
  return tree.split("\n").filter((line) => CONTROL.test(line));
}
