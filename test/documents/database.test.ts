import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  migrate,
  openDatabase,
  pragmaValue,
  registerMigrations,
  scalar,
  schemaVersion,
} from "../../engine/store/database.ts";
import { tempDir } from "./fixtures.ts";

describe("profile database", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("opens with write-ahead logging, foreign keys and a busy timeout", () => {
    const db = openDatabase(join(dir, "a.db"));
    expect(pragmaValue(db, "journal_mode")).toBe("wal");
    expect(pragmaValue(db, "foreign_keys")).toBe(1);
    expect(Number(pragmaValue(db, "busy_timeout"))).toBeGreaterThanOrEqual(1000);
    db.close();
  });

  it("applies a feature's migrations once, in order, and later ones when they are added", () => {
    const feature = `test-${Math.random().toString(36).slice(2)}`;
    const path = join(dir, "b.db");
    registerMigrations(feature, [
      `CREATE TABLE "${feature}_a" (x INTEGER)`,
      `ALTER TABLE "${feature}_a" ADD COLUMN y TEXT`,
    ]);
    const db = openDatabase(path);
    expect(schemaVersion(db, feature)).toBe(2);
    db.prepare(`INSERT INTO "${feature}_a" (x, y) VALUES (1, 'kept')`).run();
    db.close();

    registerMigrations(feature, [
      `CREATE TABLE "${feature}_a" (x INTEGER)`,
      `ALTER TABLE "${feature}_a" ADD COLUMN y TEXT`,
      `CREATE TABLE "${feature}_b" (z INTEGER)`,
    ]);
    const again = openDatabase(path);
    expect(schemaVersion(again, feature)).toBe(3);
    expect(scalar(again, `SELECT y FROM "${feature}_a"`)).toBe("kept");
    migrate(again);
    expect(schemaVersion(again, feature)).toBe(3);
    again.close();
  });

  it("rolls back a failing migration and names it", () => {
    const feature = `broken-${Math.random().toString(36).slice(2)}`;
    registerMigrations(feature, [`CREATE TABLE "${feature}_ok" (x INTEGER)`, "CREATE TABLE oops ("]);
    expect(() => openDatabase(join(dir, "c.db"))).toThrow(new RegExp(`Migration 2 of '${feature}' failed`));
    registerMigrations(feature, [`CREATE TABLE "${feature}_ok" (x INTEGER)`]);
    const db = openDatabase(join(dir, "c.db"));
    expect(schemaVersion(db, feature)).toBe(1);
    db.close();
  });

  it("includes FTS5 for the document index", () => {
    const db = openDatabase(join(dir, "d.db"));
    db.exec("CREATE VIRTUAL TABLE probe USING fts5(body)");
    db.prepare("INSERT INTO probe (body) VALUES (?)").run("full text search works");
    expect(scalar(db, "SELECT COUNT(*) FROM probe WHERE probe MATCH ?", "search")).toBe(1);
    db.close();
  });
});
