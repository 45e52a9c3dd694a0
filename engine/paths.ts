/**
 * Where Elmwood keeps its files. One place decides, so the app, the CLI, the local server and the
 * tests agree. ELMWOOD_HOME overrides the profile folder (tests and the CLI use it).
 *
 * The model store (converted models and downloaded checkpoints) lives in the profile folder unless
 * Settings moved it: then the profile's model-store.json names its folder (models/store-move.ts writes
 * it, atomically, as the last step of a move).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/** The operating system's per-user app-data folder for Elmwood. */
function defaultHome(): string {
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

export function elmwoodPaths(home = process.env.ELMWOOD_HOME || defaultHome()): ElmwoodPaths {
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
