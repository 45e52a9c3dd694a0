/**
 * The main window's size and position, remembered between runs in a small JSON file. The file is
 * written whole or not at all (temp file + rename), and anything read back is checked: a hand-edited,
 * truncated or stale file (a monitor since unplugged) gives a sensible window, never a crash or a
 * window nobody can see.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { elmwoodPaths } from "../engine/paths.ts";

export interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  /** Absent when the window should open centred. */
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1100, height: 760, maximized: false };
export const MIN_WINDOW_SIZE = { width: 640, height: 480 } as const;

/** How much of the window must lie on some display for its saved position to be kept. */
const VISIBLE_MARGIN = { width: 120, height: 60 } as const;
/** Larger than any display made; a bigger number is garbage, not a preference. */
const MAX_COORDINATE = 100_000;

export function windowStateFile(home = elmwoodPaths().home): string {
  return join(home, "window-state.json");
}

/** A saved state from untrusted JSON, or null when it is not one. */
export function parseWindowState(text: string): WindowState | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const { width, height, x, y, maximized } = record;
  if (!isSize(width) || !isSize(height)) return null;
  const state: WindowState = { width, height, maximized: maximized === true };
  if (isCoordinate(x) && isCoordinate(y)) {
    state.x = x;
    state.y = y;
  }
  return state;
}

/**
 * The state adjusted to the displays present now: at least the minimum size, no larger than the work
 * area it lands on, and centred when too little of it would be visible on any display.
 */
export function fitToWorkAreas(state: WindowState, workAreas: readonly Rectangle[]): WindowState {
  const fitted: WindowState = {
    width: Math.max(state.width, MIN_WINDOW_SIZE.width),
    height: Math.max(state.height, MIN_WINDOW_SIZE.height),
    maximized: state.maximized,
  };
  const { x, y } = state;
  const home = x === undefined || y === undefined ? undefined : visibleOn({ ...fitted, x, y }, workAreas);
  const area = home ?? workAreas[0];
  if (area) {
    fitted.width = Math.min(fitted.width, Math.max(area.width, MIN_WINDOW_SIZE.width));
    fitted.height = Math.min(fitted.height, Math.max(area.height, MIN_WINDOW_SIZE.height));
  }
  if (home) {
    fitted.x = x;
    fitted.y = y;
  }
  return fitted;
}

/** The remembered state for these displays; the default when there is none or it cannot be used. */
export function loadWindowState(file: string, workAreas: readonly Rectangle[]): WindowState {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return fitToWorkAreas(DEFAULT_WINDOW_STATE, workAreas);
  }
  return fitToWorkAreas(parseWindowState(text) ?? DEFAULT_WINDOW_STATE, workAreas);
}

/**
 * Writes the state so a reader sees the old file or the new one, never half of one. Synchronous
 * because it runs as the window closes, when the process may exit right after.
 */
export function saveWindowState(file: string, state: WindowState): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(temp, `${JSON.stringify(state)}\n`);
    renameSync(temp, file);
  } catch {
    // Losing the window position is not worth an error dialog as the app quits.
    try {
      rmSync(temp, { force: true });
    } catch {
      // The folder itself is unusable (a file in its place): there is no temp file to remove.
    }
  }
}

/** The work area that shows enough of the window, title bar included, to grab and move it. */
function visibleOn(window: Rectangle, workAreas: readonly Rectangle[]): Rectangle | undefined {
  return workAreas.find((area) => {
    const width = Math.min(window.x + window.width, area.x + area.width) - Math.max(window.x, area.x);
    const topInside = window.y >= area.y && window.y <= area.y + area.height - VISIBLE_MARGIN.height;
    return width >= VISIBLE_MARGIN.width && topInside;
  });
}

function isSize(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0 && (value as number) <= MAX_COORDINATE;
}

function isCoordinate(value: unknown): value is number {
  return Number.isInteger(value) && Math.abs(value as number) <= MAX_COORDINATE;
}
