import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
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
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  await indexer.addFolder(dir);
  await indexer.whenIdle();
  delay.disable();
  expect(searchIndex(db, "zeppelins").hits).toHaveLength(1);
  // Writing the file's few thousand chunks is the only main-thread work, in one transaction.
  expect(delay.max / 1e6).toBeLessThan(400);
  await indexer.close();
  db.close();
});
