/**
 * Debian's Chromium, headless, driven by playwright-core (no browser download): a fresh profile per
 * run, no GPU, nothing phoning home. Screenshots go to test-output/screenshots for a person to look at.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.ELMWOOD_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = resolve(import.meta.dirname, "../../../test-output/screenshots");

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors, to assert a clean run. */
  problems: string[];
  /** Drops the problems a test caused on purpose (a call it made fail), matched by `pattern`. */
  forgive(pattern: RegExp): number;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(options: { colorScheme?: "light" | "dark" } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "elmwood-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 800 },
    colorScheme: options.colorScheme ?? "light",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  // A blocked style or script says where it came from, so a CSP problem can be traced to its source.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(
        `CSP blocked ${event.violatedDirective} at ${event.sourceFile}:${event.lineNumber}:${event.columnNumber} (${event.sample})`,
      );
    });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // A failed request names only its status; where it went says which call it was.
    const { url } = message.location();
    problems.push(
      url && message.text().startsWith("Failed to load resource")
        ? `${message.text()} at ${url}`
        : message.text(),
    );
  });
  page.on("pageerror", (error) => problems.push(error.message));
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    problems,
    forgive(pattern) {
      const before = problems.length;
      problems.splice(0, problems.length, ...problems.filter((problem) => !pattern.test(problem)));
      return before - problems.length;
    },
    async screenshot(name) {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path });
      return path;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
