import { describe, expect, it, vi } from "vitest";

/** The window shown while a data folder move runs at the start, over a stand-in for Electron. */
const windows = vi.hoisted(() => [] as unknown[]);
vi.mock("electron", async () => {
  const { EventEmitter } = await import("node:events");
  class FakeBrowserWindow extends EventEmitter {
    destroyed = false;
    pages: string[] = [];
    bars: number[] = [];
    constructor(readonly options: Record<string, unknown>) {
      super();
      windows.push(this);
    }
    loadURL = vi.fn(async (url: string) => {
      this.pages.push(decodeURIComponent(url.replace(/^data:text\/html;charset=utf-8,/, "")));
    });
    setProgressBar = vi.fn((value: number) => this.bars.push(value));
    isDestroyed = () => this.destroyed;
    close = vi.fn(() => {
      const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) };
      this.emit("close", event);
      if (!event.defaultPrevented) this.destroyed = true;
    });
  }
  return { BrowserWindow: FakeBrowserWindow, default: { BrowserWindow: FakeBrowserWindow } };
});

const { openMoveProgressWindow, progressPage } = await import("../../main/data-move-window.ts");

type Fake = {
  options: { webPreferences: Record<string, unknown> };
  pages: string[];
  bars: number[];
  destroyed: boolean;
  close(): void;
};

describe("the data folder move window", () => {
  it("says where the folder goes, escaped, and how far the copy is", () => {
    const page = progressPage("/mnt/<b>disk</b>", {
      phase: "copying",
      doneBytes: 1_500_000_000,
      totalBytes: 3e9,
    });
    expect(page).toContain("/mnt/&lt;b&gt;disk&lt;/b&gt;");
    expect(page).not.toContain("<b>disk");
    expect(page).toContain('value="0.500"');
    expect(page).toContain("Copying 1.50 GB of 3.00 GB");
    expect(page).not.toContain("<script");
  });

  it("runs no script, cannot be closed during the move, and closes when it ends", () => {
    const view = openMoveProgressWindow("/mnt/big/elmwood");
    const window = windows.at(-1) as Fake;
    expect(window.options.webPreferences).toMatchObject({
      sandbox: true,
      javascript: false,
      nodeIntegration: false,
    });
    expect(window.pages[0]).toContain("/mnt/big/elmwood");
    view.update({ phase: "finishing", doneBytes: 0, totalBytes: 0 });
    expect(window.pages.at(-1)).toContain("Switching to the new folder");
    expect(window.bars.at(-1)).toBe(2);
    window.close();
    expect(window.destroyed).toBe(false);
    view.close();
    expect(window.destroyed).toBe(true);
  });
});
