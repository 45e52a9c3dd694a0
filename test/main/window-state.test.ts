import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DEFAULT_WINDOW_STATE,
  fitToWorkAreas,
  loadWindowState,
  MIN_WINDOW_SIZE,
  parseWindowState,
  saveWindowState,
  windowStateFile,
} from "../../main/window-state.ts";

const laptop = { x: 0, y: 0, width: 1440, height: 875 };
const monitorRight = { x: 1440, y: 0, width: 2560, height: 1415 };

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "elmwood-window-state-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("window state file", () => {
  it("lives in the profile folder", () => {
    expect(windowStateFile(home)).toBe(join(home, "window-state.json"));
  });

  it("round-trips a saved position, size and maximized flag", () => {
    const file = windowStateFile(join(home, "new-profile"));
    const state = { x: 1600, y: 40, width: 1200, height: 900, maximized: true };
    saveWindowState(file, state);
    expect(loadWindowState(file, [laptop, monitorRight])).toEqual(state);
  });

  it("leaves no temp file behind after saving", async () => {
    const file = windowStateFile(home);
    saveWindowState(file, { width: 800, height: 600, maximized: false });
    expect(await readdir(home)).toEqual(["window-state.json"]);
  });

  it("does not throw when the folder cannot be written", async () => {
    const blocker = join(home, "a-file");
    await writeFile(blocker, "");
    const file = join(blocker, "window-state.json");
    expect(() => saveWindowState(file, DEFAULT_WINDOW_STATE)).not.toThrow();
    expect(existsSync(file)).toBe(false);
  });

  it("falls back to the default when there is no file yet", () => {
    expect(loadWindowState(join(home, "missing.json"), [laptop])).toEqual(DEFAULT_WINDOW_STATE);
  });

  it("falls back to the default when the file is garbage", async () => {
    const file = windowStateFile(home);
    await writeFile(file, "\u0000\u0001 not json at all");
    expect(loadWindowState(file, [laptop])).toEqual(DEFAULT_WINDOW_STATE);
  });
});

describe("parseWindowState", () => {
  it.each([
    ["truncated JSON", '{"width": 800, "hei'],
    ["an array", "[800, 600]"],
    ["null", "null"],
    ["sizes as strings", '{"width": "800", "height": "600"}'],
    ["a negative width", '{"width": -800, "height": 600}'],
    ["a fractional height", '{"width": 800, "height": 600.5}'],
    ["an absurd size", '{"width": 1e12, "height": 600}'],
    ["a missing height", '{"width": 800}'],
  ])("rejects %s", (_what, text) => {
    expect(parseWindowState(text)).toBeNull();
  });

  it("keeps a good size but drops a position that is not a pair of whole numbers", () => {
    expect(parseWindowState('{"width": 800, "height": 600, "x": "10", "y": 20}')).toEqual({
      width: 800,
      height: 600,
      maximized: false,
    });
  });

  it("treats anything but true as not maximized", () => {
    expect(parseWindowState('{"width": 800, "height": 600, "maximized": "yes"}')?.maximized).toBe(false);
  });
});

describe("fitToWorkAreas", () => {
  it("drops the position of a window left on a monitor that is gone", () => {
    const onMonitor = { x: 2000, y: 100, width: 1200, height: 800, maximized: false };
    expect(fitToWorkAreas(onMonitor, [laptop])).toEqual({ width: 1200, height: 800, maximized: false });
  });

  it("drops the position when the title bar would be above the screen", () => {
    const state = { x: 100, y: -500, width: 1000, height: 800, maximized: false };
    expect(fitToWorkAreas(state, [laptop]).y).toBeUndefined();
  });

  it("keeps a window that is mostly on screen where it was", () => {
    const state = { x: 1300, y: 50, width: 1000, height: 700, maximized: false };
    expect(fitToWorkAreas(state, [laptop, monitorRight])).toMatchObject({ x: 1300, y: 50 });
  });

  it("shrinks a window larger than the display it opens on", () => {
    const state = { width: 3000, height: 2000, maximized: false };
    expect(fitToWorkAreas(state, [laptop])).toMatchObject({ width: laptop.width, height: laptop.height });
  });

  it("grows a window below the minimum size", () => {
    const state = { width: 10, height: 10, maximized: false };
    expect(fitToWorkAreas(state, [laptop])).toMatchObject(MIN_WINDOW_SIZE);
  });
});
