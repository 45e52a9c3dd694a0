import { describe, expect, it, vi } from "vitest";
import type { ViewerEnvironment } from "../../engine/documents/open-at-page.ts";
import { electronOpener } from "../../main/file-opener.ts";

const PDF = "/home/ann/paper.pdf";

function environment(platform: NodeJS.Platform): ViewerEnvironment {
  return {
    platform,
    dataDirs: ["/usr/share"],
    defaultPdfApp: async () => "okular.desktop",
    readText: async (path) =>
      path === "/usr/share/applications/okular.desktop" ? "[Desktop Entry]\nExec=okular %U\n" : null,
    which: async (program) => (program === "okular" ? "/usr/bin/okular" : null),
  };
}

function fakeShell(problem = "") {
  return { openPath: vi.fn(async (_path: string) => problem), showItemInFolder: vi.fn() };
}

describe("the desktop app's opener", () => {
  it("starts the default viewer at the page where it takes one, without the shell", async () => {
    const shell = fakeShell();
    const start = vi.fn(async () => {});
    const opener = electronOpener(shell, environment("linux"), start);
    expect(await opener.openPdfAtPage?.(PDF, 9)).toBe(true);
    expect(start).toHaveBeenCalledWith("/usr/bin/okular", ["--page", "9", PDF]);
    expect(shell.openPath).not.toHaveBeenCalled();
  });

  it("opens through Electron's shell where the viewer cannot be told a page", async () => {
    const shell = fakeShell();
    const start = vi.fn(async () => {});
    const opener = electronOpener(shell, environment("darwin"), start);
    expect(await opener.openPdfAtPage?.(PDF, 9)).toBe(false);
    expect(shell.openPath).toHaveBeenCalledWith(PDF);
    expect(start).not.toHaveBeenCalled();
  });

  it("turns the shell's complaint into NOT_FOUND with the reason", async () => {
    const opener = electronOpener(fakeShell("No application is registered"), environment("win32"));
    await expect(opener.open(PDF)).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: `Could not open ${PDF}: No application is registered.`,
    });
  });
});
