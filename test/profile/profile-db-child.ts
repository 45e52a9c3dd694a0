/**
 * Writes or reads a profile's database in a process of its own, so that the database is fully closed
 * when the test goes on (libsql finishes closing in the background, folding the -wal file in later; a
 * process that has exited holds nothing, as at the start that moves the data folder):
 *   node bin/run-ts.js test/profile/profile-db-child.ts (make|read) <profile folder>
 */
import { join } from "node:path";
import { openDatabase, scalar } from "../../engine/store/database.ts";

const [mode = "", home = ""] = process.argv.slice(2);
const db = openDatabase(join(home, "elmwood.db"));
if (mode === "make") {
  db.exec("CREATE TABLE notes (text TEXT)");
  db.prepare("INSERT INTO notes VALUES (?)").run("kept across the move");
} else {
  process.stdout.write(String(scalar(db, "SELECT text FROM notes")));
}
db.close();
