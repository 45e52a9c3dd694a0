import { chmod, mkdir, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_PREPARE_OPTIONS } from "../../engine/documents/prepare.ts";
import { inlinePreparer, type Preparer, workerPreparer } from "../../engine/documents/prepare-pool.ts";
import { searchIndex } from "../../engine/documents/search.ts";
import { llamaTokenCounter } from "../../engine/documents/tokens.ts";
import { scalar } from "../../engine/store/database.ts";
import { buildPdf, tempDir } from "./fixtures.ts";
import { assertIndexConsistent, fileEvents, nextEvent, openTestIndex } from "./helpers.ts";

const paragraph = (topic: string) =>
  `This note is about ${topic}. It explains ${topic} in plain words for later search.\n`;

describe("indexer", () => {
  let dir: string;
  let docs: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    docs = join(dir, "docs");
    await mkdir(docs);
  });
  afterEach(() => cleanup());

  it("records why files were skipped or failed, and indexes the rest", async () => {
    await writeFile(join(docs, "good.txt"), paragraph("otters"));
    await writeFile(join(docs, "empty.md"), "");
    await writeFile(join(docs, "photo.jpg"), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]));
    await writeFile(join(docs, "mystery.bin2"), Buffer.from([1, 2, 0, 0, 3, 4, 0, 5, 6, 0, 0, 0, 7]));
    await writeFile(join(docs, "locked.pdf"), buildPdf([["secret"]], { encrypt: true }));
    await writeFile(join(docs, "broken.pdf"), "%PDF-1.4\nthis is not really a pdf");
    await writeFile(join(docs, "huge.txt"), "x".repeat(3000));
    await writeFile(join(docs, "scan.pdf"), buildPdf([[]]));
    await symlink(docs, join(docs, "loop"));
    await symlink(join(docs, "nowhere.txt"), join(docs, "dangling.txt"));
    const { db, indexer } = openTestIndex(dir, { prepare: { maxFileBytes: 2000 } });
    await indexer.addFolder(docs);
    await indexer.whenIdle();
    const [status] = indexer.status();
    const reasons = Object.fromEntries(
      status.problems.map((p) => [p.path.slice(docs.length + 1), [p.status, p.reason]]),
    );
    expect(status.indexed).toBe(1);
    expect(reasons).toEqual({
      "empty.md": ["skipped", "empty file"],
      "photo.jpg": ["skipped", "binary file (.jpg)"],
      "mystery.bin2": ["skipped", "binary file"],
      "locked.pdf": ["error", "This PDF is password-protected."],
      "broken.pdf": ["error", expect.stringMatching(/^This PDF is damaged/)],
      "huge.txt": ["skipped", "too large to index (2.9 KB; the limit is 2.0 KB)"],
      "scan.pdf": ["skipped", "no text found (a scanned PDF holds only images)"],
      loop: ["skipped", "symbolic link loop (points to a folder that contains it)"],
      "dangling.txt": ["error", "broken symbolic link"],
    });
    expect(status.state).toBe("ready");
    assertIndexConsistent(db);
    await indexer.close();
    db.close();
  });

  it("on a rescan re-reads only changed files and forgets deleted ones", async () => {
    await writeFile(join(docs, "a.txt"), paragraph("apples"));
    await writeFile(join(docs, "b.txt"), paragraph("bananas"));
    await writeFile(join(docs, "c.txt"), paragraph("cherries"));
    const { db, indexer } = openTestIndex(dir);
    await indexer.addFolder(docs);
    await indexer.whenIdle();

    const seen: string[] = [];
    indexer.on((e) => {
      if (e.type === "file") seen.push(`${e.outcome} ${e.path.slice(docs.length + 1)}`);
    });
    await writeFile(join(docs, "b.txt"), paragraph("blueberries"));
    await unlink(join(docs, "c.txt"));
    await indexer.sync();
    expect(seen.sort()).toEqual(["indexed b.txt", "removed c.txt"]);
    expect(searchIndex(db, "blueberries").hits).toHaveLength(1);
    expect(searchIndex(db, "bananas").hits).toHaveLength(0);
    expect(searchIndex(db, "cherries").hits).toHaveLength(0);
    assertIndexConsistent(db);
    await indexer.close();
    db.close();
  });

  it("catches up after a restart with the changes made while it was not running", async () => {
    await writeFile(join(docs, "keep.txt"), paragraph("kestrels"));
    await writeFile(join(docs, "gone.txt"), paragraph("gannets"));
    const first = openTestIndex(dir);
    await first.indexer.addFolder(docs);
    await first.indexer.whenIdle();
    await first.indexer.close();
    first.db.close();

    await unlink(join(docs, "gone.txt"));
    await writeFile(join(docs, "new.txt"), paragraph("nightingales"));
    const second = openTestIndex(dir);
    second.indexer.start();
    await second.indexer.whenIdle();
    expect(searchIndex(second.db, "nightingales").hits).toHaveLength(1);
    expect(searchIndex(second.db, "gannets").hits).toHaveLength(0);
    expect(searchIndex(second.db, "kestrels").hits).toHaveLength(1);
    await second.indexer.close();
    second.db.close();
  });

  it("treats a file that vanishes while being read as removed, not as a failure", async () => {
    await writeFile(join(docs, "stays.txt"), paragraph("storks"));
    await writeFile(join(docs, "flees.txt"), paragraph("finches"));
    const inline = inlinePreparer(DEFAULT_PREPARE_OPTIONS, llamaTokenCounter());
    const vanishing: Preparer = {
      ...inline,
      async prepare(request) {
        if (request.path.endsWith("flees.txt")) await unlink(request.path);
        return inline.prepare(request);
      },
    };
    const { db, indexer } = openTestIndex(dir, { preparer: vanishing });
    await indexer.addFolder(docs);
    await indexer.whenIdle();
    const [status] = indexer.status();
    expect([status.indexed, status.errors, status.skipped]).toEqual([1, 0, 0]);
    assertIndexConsistent(db);
    await indexer.close();
    db.close();
  });

  it("empties the index of a folder removed while it is being indexed and marks it missing", async () => {
    for (let i = 0; i < 6; i++) await writeFile(join(docs, `n${i}.txt`), paragraph(`topic${i}`));
    const inline = inlinePreparer(DEFAULT_PREPARE_OPTIONS, llamaTokenCounter());
    let prepared = 0;
    const removing: Preparer = {
      ...inline,
      async prepare(request) {
        if (++prepared === 3) await rm(docs, { recursive: true, force: true });
        return inline.prepare(request);
      },
    };
    const { db, indexer } = openTestIndex(dir, { preparer: removing });
    await indexer.addFolder(docs);
    await indexer.whenIdle();
    const [status] = indexer.status();
    expect(status.state).toBe("missing");
    expect(scalar(db, "SELECT COUNT(*) FROM doc_files")).toBe(0);
    assertIndexConsistent(db);
    await indexer.close();
    db.close();
  });

  it("refuses a folder inside an indexed one, and absorbs indexed folders inside a new parent", async () => {
    await mkdir(join(docs, "inner"));
    await writeFile(join(docs, "inner", "x.txt"), paragraph("xylophones"));
    const { db, indexer } = openTestIndex(dir);
    await indexer.addFolder(join(docs, "inner"));
    const { replaced } = await indexer.addFolder(docs);
    expect(replaced).toEqual([join(docs, "inner")]);
    await expect(indexer.addFolder(join(docs, "inner"))).rejects.toThrow(/already indexed as part of/);
    await expect(indexer.addFolder(join(dir, "absent"))).rejects.toThrow(/There is no folder/);
    await indexer.whenIdle();
    expect(indexer.status().map((f) => f.path)).toEqual([docs]);
    expect(searchIndex(db, "xylophones").hits).toHaveLength(1);
    await indexer.close();
    db.close();
  });

  it.skipIf(process.getuid?.() === 0)("reports a file it may not read as permission denied", async () => {
    await writeFile(join(docs, "open.txt"), paragraph("owls"));
    await writeFile(join(docs, "closed.txt"), paragraph("crows"));
    await chmod(join(docs, "closed.txt"), 0o000);
    const { db, indexer } = openTestIndex(dir);
    await indexer.addFolder(docs);
    await indexer.whenIdle();
    expect(indexer.status()[0].problems).toEqual([
      { path: join(docs, "closed.txt"), status: "error", reason: "permission denied" },
    ]);
    await indexer.close();
    db.close();
  });
});

describe("indexer while watching (worker threads)", () => {
  let dir: string;
  let docs: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    docs = join(dir, "docs");
    await mkdir(docs);
  });
  afterEach(() => cleanup());

  it("follows edits, renames and deletes as they happen", async () => {
    await writeFile(join(docs, "draft.md"), `# Draft\n\n${paragraph("penguins")}`);
    await writeFile(join(docs, "other.txt"), paragraph("walruses"));
    const preparer = workerPreparer({ options: DEFAULT_PREPARE_OPTIONS, size: 1 });
    const { db, indexer } = openTestIndex(dir, { watch: true, preparer, debounceMs: 50 });
    const watching = nextEvent(indexer, (e) => e.type === "watching");
    await indexer.addFolder(docs);
    await Promise.all([watching, indexer.whenIdle()]);
    expect(searchIndex(db, "penguins").hits).toHaveLength(1);

    let done = fileEvents(indexer, { [join(docs, "draft.md")]: "indexed" });
    await writeFile(join(docs, "draft.md"), `# Draft\n\n${paragraph("puffins")}`);
    await done;
    expect(searchIndex(db, "puffins").hits[0]?.location).toBe("Draft");
    expect(searchIndex(db, "penguins").hits).toHaveLength(0);

    done = fileEvents(indexer, { [join(docs, "draft.md")]: "removed", [join(docs, "final.md")]: "indexed" });
    await rename(join(docs, "draft.md"), join(docs, "final.md"));
    await done;
    expect(searchIndex(db, "puffins").hits.map((h) => h.path)).toEqual([join(docs, "final.md")]);

    done = fileEvents(indexer, { [join(docs, "other.txt")]: "removed" });
    await unlink(join(docs, "other.txt"));
    await done;
    expect(searchIndex(db, "walruses").hits).toHaveLength(0);

    const subdirDone = nextEvent(
      indexer,
      (e) => e.type === "file" && e.path === join(docs, "sub", "deep.txt"),
    );
    await mkdir(join(docs, "sub"));
    await writeFile(join(docs, "sub", "deep.txt"), paragraph("narwhals"));
    await subdirDone;
    await indexer.whenIdle();
    expect(searchIndex(db, "narwhals").hits).toHaveLength(1);
    assertIndexConsistent(db);
    await indexer.close();
    db.close();
  });
});
