/**
 * Where Elmwood keeps its files. One place decides, so the app, the CLI, the local server and the
 * tests agree. ELMWOOD_HOME overrides the profile folder (tests and the CLI use it).
 *
 * Without ELMWOOD_HOME the profile is in the operating system's app-data folder, unless Settings moved
 * it: then that folder keeps only profile-location.json, naming the profile's folder
 * (engine/profile/data-move.ts writes it, atomically, as the switch of a move done at start).
 *
 * The model store (converted models and downloaded checkpoints) lives in the profile folder unless
 * Settings moved it: then the profile's model-store.json names its folder (models/store-move.ts writes
 * it, atomically, as the last step of a move).
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/** The operating system's per-user app-data folder for Elmwood. */
export function defaultHome(): string {
  const home = homedir();
  switch (process.platform) {
    case "win32":
      return join(process.env.APPDATA ?? join(home, "AppData", "Roaming"), "Elmwood");
    case "darwin":
      return join(home, "Library", "Application Support", "Elmwood");
    default:
      return join(process.env.XDG_DATA_HOME ?? join(home, ".local", "share"), "elmwood");
  }
}

export interface ElmwoodPaths {
  /** The profile folder: the database, settings and caches live here. */
  home: string;
  /** The profile's SQLite database (chats, settings, document index). */
  database: string;
  /** The model store's folder: `models` and `downloads` below are in it (the profile folder by default). */
  modelStore: string;
  /** Converted models, one folder each, plus downloads in progress. */
  models: string;
  /** Hugging Face checkpoints being downloaded or kept after conversion. */
  downloads: string;
  /** Caches that can be deleted at any time (provider choices, benchmark checkpoints). */
  cache: string;
}

/** The file in the profile folder that names a model store kept elsewhere. */
export const MODEL_STORE_POINTER = "model-store.json";

/** The store folder model-store.json names, or the profile folder when it names none (or is unreadable). */
export function readModelStorePointer(home: string): string {
  try {
    const { root } = JSON.parse(readFileSync(join(home, MODEL_STORE_POINTER), "utf8")) as { root?: unknown };
    if (typeof root === "string" && isAbsolute(root)) return root;
  } catch {
    // No pointer (the usual case), or one a person broke by hand: the store is in the profile.
  }
  return home;
}

/** The file in the app-data folder that names a profile kept elsewhere. */
export const PROFILE_POINTER = "profile-location.json";

export interface ProfileLocation {
  /** The app-data folder: the profile by default, and always where its pointer and move journal are. */
  base: string;
  /** The profile folder in use. */
  home: string;
  /** Whether ELMWOOD_HOME chose it (then Settings cannot move it). */
  fromEnvironment: boolean;
  /**
   * A pointer that could not be followed (its folder is gone, say on a disk not plugged in): the
   * profile in `base` is used meanwhile, and this says why.
   */
  pointerProblem: string | null;
}

/**
 * Where the profile is: ELMWOOD_HOME always wins; otherwise the folder profile-location.json in
 * `base` names, when it is a folder; otherwise `base`. Tests pass `base` and `env`, never the real
 * app-data folder.
 */
export function locateProfile(options: { base?: string; env?: NodeJS.ProcessEnv } = {}): ProfileLocation {
  const env = options.env ?? process.env;
  const base = options.base ?? defaultHome();
  if (env.ELMWOOD_HOME) {
    return { base, home: env.ELMWOOD_HOME, fromEnvironment: true, pointerProblem: null };
  }
  let named: unknown;
  try {
    named = (JSON.parse(readFileSync(join(base, PROFILE_POINTER), "utf8")) as { home?: unknown })?.home;
  } catch (error) {
    // No pointer is the usual case; one a person broke by hand is reported, never a crash.
    const missing = (error as { code?: string }).code === "ENOENT";
    return {
      base,
      home: base,
      fromEnvironment: false,
      pointerProblem: missing ? null : `${join(base, PROFILE_POINTER)} cannot be read.`,
    };
  }
  if (typeof named !== "string" || !isAbsolute(named)) {
    return {
      base,
      home: base,
      fromEnvironment: false,
      pointerProblem: `${join(base, PROFILE_POINTER)} does not name a folder.`,
    };
  }
  let folder = false;
  try {
    folder = statSync(named).isDirectory();
  } catch {
    // Gone, or on a disk that is not connected: reported below.
  }
  if (!folder) {
    return {
      base,
      home: base,
      fromEnvironment: false,
      pointerProblem: `The data folder ${named} cannot be reached.`,
    };
  }
  return { base, home: named, fromEnvironment: false, pointerProblem: null };
}

export function elmwoodPaths(home = locateProfile().home): ElmwoodPaths {
  const paths = {
    home,
    database: join(home, "elmwood.db"),
    cache: join(home, "cache"),
  } as ElmwoodPaths;
  return pointModelStore(paths, readModelStorePointer(home));
}

/**
 * Points `paths` at the store in `root`, in place: the service hands one paths object to the library,
 * the store and the model manager, so all of them follow a move at once.
 */
export function pointModelStore(paths: ElmwoodPaths, root: string): ElmwoodPaths {
  paths.modelStore = root;
  paths.models = join(root, "models");
  paths.downloads = join(root, "downloads");
  return paths;
}
