/**
 * Where Elmwood keeps its files. One place decides, so the app, the CLI, the local server and the
 * tests agree. ELMWOOD_HOME overrides everything (tests and the CLI use it).
 */
import { homedir } from "node:os";
import { join } from "node:path";

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
  /** The profile folder: everything below lives here. */
  home: string;
  /** The profile's SQLite database (chats, settings, document index). */
  database: string;
  /** Converted models, one folder each, plus downloads in progress. */
  models: string;
  /** Hugging Face checkpoints being downloaded or kept after conversion. */
  downloads: string;
  /** Caches that can be deleted at any time (provider choices, benchmark checkpoints). */
  cache: string;
}

export function elmwoodPaths(home = process.env.ELMWOOD_HOME || defaultHome()): ElmwoodPaths {
  return {
    home,
    database: join(home, "elmwood.db"),
    models: join(home, "models"),
    downloads: join(home, "downloads"),
    cache: join(home, "cache"),
  };
}
