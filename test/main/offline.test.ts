/**
 * The desktop window makes no background requests: Chromium's background networking is off, and
 * spellcheck never downloads a dictionary (on only where the system spellchecker needs none).
 */
import type { CommandLine, Session } from "electron";
import { describe, expect, it, vi } from "vitest";
import {
  QUIET_SWITCHES,
  quietChromium,
  quietSession,
  spellcheckNeedsNoDownload,
} from "../../main/offline.ts";

function fakeSession() {
  return {
    setSpellCheckerEnabled: vi.fn(),
    setSpellCheckerLanguages: vi.fn(),
  };
}

describe("the desktop window's own requests", () => {
  it("switches off Chromium's background networking before the app is ready", () => {
    const switches = new Map<string, string | undefined>();
    const commandLine = { appendSwitch: (name: string, value?: string) => switches.set(name, value) };
    quietChromium(commandLine as unknown as CommandLine);
    expect([...switches.keys()]).toEqual(
      expect.arrayContaining(["disable-background-networking", "disable-component-update"]),
    );
    expect(switches.size).toBe(QUIET_SWITCHES.length);
  });

  it.each(["linux", "win32"] as const)(
    "turns spellcheck off on %s, where it would download dictionaries",
    (platform) => {
      const session = fakeSession();
      quietSession(session as unknown as Session, platform);
      expect(session.setSpellCheckerEnabled).toHaveBeenCalledWith(false);
      expect(session.setSpellCheckerLanguages).toHaveBeenCalledWith([]);
      expect(spellcheckNeedsNoDownload(platform)).toBe(false);
    },
  );

  it("keeps the system spellchecker on macOS, which downloads nothing", () => {
    const session = fakeSession();
    quietSession(session as unknown as Session, "darwin");
    expect(session.setSpellCheckerEnabled).not.toHaveBeenCalled();
    expect(spellcheckNeedsNoDownload("darwin")).toBe(true);
  });
});
