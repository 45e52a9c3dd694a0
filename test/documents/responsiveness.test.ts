import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { DEFAULT_PREPARE_OPTIONS } from "../../engine/documents/prepare.ts";
import { workerPreparer } from "../../engine/documents/prepare-pool.ts";
import { searchIndex } from "../../engine/documents/search.ts";
import { tempDir } from "./fixtures.ts";
import { openTestIndex } from "./helpers.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

it("keeps the event loop free while a large file is extracted and tokenized", async () => {
  // About 1 MB of prose: tokenizing it on the main thread would hold the loop for a second or more.
  const sentence = "The archive holds letters from sailors, merchants and lighthouse keepers of the coast. ";
  await writeFile(join(dir, "large.txt"), `${sentence.repeat(12_000)}Final line mentions zeppelins.\n`);
  const { db, indexer } = openTestIndex(dir, {
    preparer: workerPreparer({ options: DEFAULT_PREPARE_OPTIONS, size: 1 }),
  });
  // Count the loop's turns while the file is prepared: extraction and tokenizing happen in the
  // worker, so the loop keeps turning; done on this thread they would hold it for the whole time.
  let turns = 0;
  const ticker = setInterval(() => turns++, 5);
  await indexer.addFolder(dir);
  await indexer.whenIdle();
  clearInterval(ticker);
  expect(searchIndex(db, "zeppelins").hits).toHaveLength(1);
  expect(turns).toBeGreaterThan(20);
  await indexer.close();
  db.close();
});
