/**
 * The profile's one SQLite database. Every feature (chats, settings, the document index) keeps its
 * tables here and brings them up to date with its own ordered list of migrations, so features can be
 * added without a central schema file and without knowing about each other.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "libsql";
import { ElmwoodError } from "../errors.ts";
import { elmwoodPaths } from "../paths.ts";
import { holdProfile } from "../profile/leases.ts";

export type Db = Database.Database;
export type Statement = Database.Statement;

/** Bumped only if the way migrations are tracked ever changes; kept in PRAGMA user_version. */
const TRACKING_FORMAT = 1;

/*
 * libsql follows better-sqlite3's API with three differences that bite (measured with 0.5.29):
 * `Statement.get()` adds an enumerable `_metadata` field to the row and ignores `pluck()`, and
 * `db.pragma(name, { simple: true })` returns the row, not the value. Use `firstRow`, `scalar` and
 * `pragmaValue` below (or `.all()`), never `.get()`. Also, JS numbers are bound as REAL: where a
 * virtual table needs an INTEGER (an FTS5 rowid bound), pass a BigInt.
 */

/** The first row of a query (a plain object, no `_metadata`), or undefined. */
export function firstRow<T>(db: Db, sql: string, ...params: unknown[]): T | undefined {
  return db.prepare(sql).all(...params)[0] as T | undefined;
}

/** The first column of the first row, or undefined when there is no row. */
export function scalar<T = unknown>(db: Db, sql: string, ...params: unknown[]): T | undefined {
  const rows = db
    .prepare(sql)
    .raw()
    .all(...params) as unknown[][];
  return rows[0]?.[0] as T | undefined;
}

/** A pragma's value, e.g. pragmaValue(db, "journal_mode") === "wal". */
export function pragmaValue(db: Db, name: string): unknown {
  const row = (db.pragma(name) as Record<string, unknown>[])[0];
  return row ? Object.values(row)[0] : undefined;
}

const registry = new Map<string, readonly string[]>();

/**
 * Declares a feature's schema as an append-only list of SQL scripts: index i is version i + 1.
 * Never edit or reorder a script once released; add a new one. Call at module load.
 */
export function registerMigrations(feature: string, migrations: readonly string[]): void {
  registry.set(feature, [...migrations]);
}

/**
 * Opens (creating if needed) the database with write-ahead logging, enforced foreign keys and a busy
 * timeout, then applies every registered migration that has not run yet.
 */
export function openDatabase(path: string = elmwoodPaths().database): Db {
  let db: Db;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
  } catch (error) {
    throw new ElmwoodError(
      "DISK",
      `Cannot open the database at ${path}: ${(error as Error).message}.`,
      "Check that the folder exists and is writable, or set ELMWOOD_HOME to another folder.",
      { cause: error },
    );
  }
  // Another process (the app and the CLI) may hold the write lock briefly; wait rather than fail.
  db.pragma("busy_timeout = 5000");
  db.pragma("journal_mode = WAL");
  // WAL makes NORMAL durable against application crashes; only power loss can drop the last commit.
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  try {
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  if (path === ":memory:") return db;
  // While it is open, the profile must not move (engine/profile/leases.ts).
  const lease = holdProfile(dirname(path));
  const close = db.close.bind(db);
  db.close = () => {
    try {
      return close();
    } finally {
      lease.release();
    }
  };
  return db;
}

/** Applies pending migrations of every registered feature; cheap when all are applied. */
export function migrate(db: Db): void {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (feature TEXT PRIMARY KEY, version INTEGER NOT NULL)",
  );
  const current = db.prepare("SELECT version FROM schema_migrations WHERE feature = ?").raw();
  const record = db.prepare(
    "INSERT INTO schema_migrations (feature, version) VALUES (?, ?) " +
      "ON CONFLICT (feature) DO UPDATE SET version = excluded.version",
  );
  for (const [feature, migrations] of registry) {
    const applied = versionOf(current, feature);
    if (applied > migrations.length) {
      throw new ElmwoodError(
        "INTERNAL",
        `The database has ${feature} schema version ${applied}, newer than this Elmwood knows (${migrations.length}).`,
        "Update Elmwood, or point ELMWOOD_HOME at another profile.",
      );
    }
    if (applied === migrations.length) continue;
    // IMMEDIATE takes the write lock first, so two processes opening at once cannot both migrate;
    // the version is read again inside, where it cannot change under us.
    db.transaction(() => {
      const done = versionOf(current, feature);
      for (let version = done + 1; version <= migrations.length; version++) {
        try {
          db.exec(migrations[version - 1]);
        } catch (error) {
          throw new ElmwoodError(
            "INTERNAL",
            `Migration ${version} of '${feature}' failed: ${(error as Error).message}.`,
            undefined,
            { cause: error },
          );
        }
        record.run(feature, version);
      }
    }).immediate();
  }
  db.pragma(`user_version = ${TRACKING_FORMAT}`);
}

function versionOf(statement: Statement, feature: string): number {
  const rows = statement.all(feature) as unknown[][];
  return Number(rows[0]?.[0] ?? 0);
}

/** The schema version a feature has reached in this database (0 when it has none). */
export function schemaVersion(db: Db, feature: string): number {
  return Number(scalar(db, "SELECT version FROM schema_migrations WHERE feature = ?", feature) ?? 0);
}
