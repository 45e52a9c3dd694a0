/**
 * Whether the end-to-end tests can run here. CI installs Chromium (.ci/run), so there a missing
 * browser is a failure; on a developer's machine without it the tests are skipped, saying why.
 */
import { existsSync } from "node:fs";
import { CHROMIUM } from "./browser.ts";

export const browserMissing = !existsSync(CHROMIUM) && process.env.CI !== "true";

if (browserMissing) {
  console.warn(
    `End-to-end tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set ELMWOOD_CHROMIUM).`,
  );
}
