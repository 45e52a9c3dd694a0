/**
 * The desktop window sends nothing on its own. Electron leaves out most of Chrome's background
 * services (sync, Safe Browsing, the component updater), but two kinds of request remain possible:
 *  - spellchecker dictionaries: on Windows and Linux Electron downloads Hunspell dictionaries from a
 *    Google CDN for the spellcheck languages, unasked. macOS uses the system's own spellchecker, which
 *    needs no download, so spellcheck stays on there and is off elsewhere;
 *  - Chromium's background networking (component and variations fetches, domain reliability reports,
 *    DNS prefetch of links): switched off on the command line, where Electron has it at all.
 * What Elmwood may ever contact is listed in the README (Privacy).
 */
import type { CommandLine, Session } from "electron";

/** Chromium switches that keep its background services from making requests. */
export const QUIET_SWITCHES: readonly (readonly [string, string?])[] = [
  ["disable-background-networking"],
  ["disable-component-update"],
  ["disable-domain-reliability"],
  ["dns-prefetch-disable"],
  ["no-pings"],
];

/** Before the app is ready: the command-line half. */
export function quietChromium(commandLine: CommandLine): void {
  for (const [name, value] of QUIET_SWITCHES) commandLine.appendSwitch(name, value);
}

/** Whether the renderer's spellcheck may be on: only where it needs no dictionary download. */
export function spellcheckNeedsNoDownload(platform: NodeJS.Platform = process.platform): boolean {
  return platform === "darwin";
}

/** Once the app is ready: the session half (no spellchecker dictionary is ever fetched). */
export function quietSession(session: Session, platform: NodeJS.Platform = process.platform): void {
  if (spellcheckNeedsNoDownload(platform)) return;
  session.setSpellCheckerEnabled(false);
  session.setSpellCheckerLanguages([]);
}
