/**
 * Search by meaning over the real index with a deterministic embedder (words of one concept share a
 * direction): vectors follow files as they are added, edited, renamed and deleted; hybrid search
 * fuses words and meaning, honours the filters and says which side found each hit.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuseRankings, hybridSearch, type MeaningIndex } from "../../engine/documents/hybrid-search.ts";
import type { DocumentIndexer } from "../../engine/documents/indexer.ts";
import { VectorIndexer } from "../../engine/documents/vector-indexer.ts";
import { VectorStore } from "../../engine/documents/vectors/vector-store.ts";
import { type Db, openDatabase, scalar } from "../../engine/store/database.ts";
import { ConceptEmbedder, conceptVector } from "../support/concept-embedder.ts";
import { tempDir } from "./fixtures.ts";
import { assertIndexConsistent, openTestIndex } from "./helpers.ts";

const FILES: Record<string, string> = {
  "bills/march.txt": "Your billing statement for March lists three charges from the phone company.\n",
  "bills/number.txt": "The invoice number is printed on the first line of every invoice.\n",
  "garden/tulips.md": "# Spring\n\nTulips bloom early in a sunny garden bed.\n",
  "travel/ticket.txt": "Keep the railway ticket until the journey ends at the last station.\n",
  "cooking/bread.md": "# Bread\n\nKnead the dough, let it rise, then bake it in a hot oven.\n",
};

function names(hits: { path: string }[]): string[] {
  return hits.map((h) => h.path.split("/").slice(-2).join("/"));
}

describe("search by meaning", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let db: Db;
  let indexer: DocumentIndexer;
  let vectors: VectorIndexer;
  let embedder: ConceptEmbedder;
  let meaning: MeaningIndex;
  const docs = (name: string) => join(dir, "docs", name);
  const settle = async () => {
    await indexer.whenIdle();
    vectors.wake();
    await vectors.whenIdle();
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    for (const [name, text] of Object.entries(FILES)) {
      await mkdir(join(dir, "docs", name, ".."), { recursive: true });
      await writeFile(docs(name), text);
    }
    ({ db, indexer } = openTestIndex(dir));
    embedder = new ConceptEmbedder();
    vectors = new VectorIndexer(db, {
      openEmbedder: async () => embedder,
      wordIndexBusy: () => indexer.busy,
      batchSize: 2,
      progressIntervalMs: 0,
    });
    meaning = { store: vectors.store, embedQuery: async (text) => conceptVector(text) };
    await indexer.addFolder(join(dir, "docs"));
    await settle();
  });
  afterAll(async () => {
    await indexer.close();
    await vectors.close();
    db.close();
    await cleanup();
  });

  it("gives every chunk a vector in batches, reporting progress until ready", () => {
    expect(vectors.status()).toMatchObject({
      state: "ready",
      embedded: 5,
      total: 5,
      model: "test/concepts@1",
    });
    expect(embedder.batches.map((b) => b.length)).toEqual([2, 2, 1]);
  });

  it("finds a passage by its meaning when it shares no word with the query, and says so", async () => {
    const result = await hybridSearch(db, "invoice", {}, meaning);
    expect(result.mode).toBe("hybrid");
    const byFile = new Map(result.hits.map((h) => [names([h])[0], h]));
    expect(byFile.get("bills/number.txt")?.matched).toBe("both");
    expect(byFile.get("bills/march.txt")?.matched).toBe("meaning");
    expect(byFile.get("bills/march.txt")?.similarity).toBeGreaterThan(0.5);
    // Unrelated passages are not proposed by meaning (similarity 0 is below the floor).
    expect(names(result.hits)).toEqual(["bills/number.txt", "bills/march.txt"]);
  });

  it("gives a meaning-only hit a snippet from its text", async () => {
    const hit = (await hybridSearch(db, "flowers", {}, meaning)).hits[0];
    expect(hit).toMatchObject({ matched: "meaning", location: "Spring" });
    expect(hit.snippet).toContain("Tulips bloom");
  });

  it("keeps the filters on the meaning side too", async () => {
    const inGarden = await hybridSearch(db, "invoice", { folders: [docs("garden")] }, meaning);
    expect(inGarden.hits).toHaveLength(0);
    const markdown = await hybridSearch(db, "oven baking", { kinds: ["markdown"] }, meaning);
    expect(names(markdown.hits)).toEqual(["cooking/bread.md"]);
    const text = await hybridSearch(db, "oven baking", { kinds: ["text"] }, meaning);
    expect(text.hits).toHaveLength(0);
  });

  it("leaves out meaning hits that contain an excluded word", async () => {
    const result = await hybridSearch(db, "bill -charges", {}, meaning);
    expect(names(result.hits)).not.toContain("bills/march.txt");
    expect(names(result.hits)).toContain("bills/number.txt");
  });

  it("searches a quoted phrase by its exact words only", async () => {
    const result = await hybridSearch(db, '"first line"', {}, meaning);
    expect(result.hits.map((h) => h.matched)).toEqual(["words"]);
  });

  it("stays by words without a meaning index, and says so", async () => {
    const result = await hybridSearch(db, "invoice", {});
    expect(result.mode).toBe("words");
    expect(result.hits.map((h) => h.matched)).toEqual(["words"]);
  });

  it("checks the words of an unselective query on the meaning candidates instead of ranking them, and says so", async () => {
    const result = await hybridSearch(db, "invoice", { rankCap: 0 }, meaning);
    expect(result.partial).toBe(true);
    const number = result.hits.find((h) => h.path.endsWith("number.txt"));
    expect(number?.matched).toBe("both");
    expect(number?.highlights.map(([a, b]) => number.snippet.slice(a, b).toLowerCase())).toEqual([
      "invoice",
      "invoice",
    ]);
    expect(result.hits.find((h) => h.path.endsWith("march.txt"))?.matched).toBe("meaning");
  });

  it("takes the newest word matches, unranked, when nothing is near in meaning", async () => {
    const full = await hybridSearch(db, "the", {}, meaning);
    const newest = await hybridSearch(db, "the", { rankCap: 0 }, meaning);
    expect(newest.partial).toBe(true);
    const ids = newest.hits.map((h) => h.chunkId);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(ids.sort()).toEqual(full.hits.map((h) => h.chunkId).sort());
  });

  it("by words alone, ranks only the newest matches of an unselective query, and says so", async () => {
    const full = await hybridSearch(db, "the", {});
    const bounded = await hybridSearch(db, "the", { rankCap: 1 });
    expect(full.partial).toBe(false);
    expect(bounded.partial).toBe(true);
    const newestId = Math.max(...full.hits.map((h) => h.chunkId));
    expect(bounded.hits.map((h) => h.chunkId)).toEqual([newestId]);
  });

  it("re-embeds only the text an edit changed", async () => {
    const before = embedder.batches.flat().length;
    await writeFile(
      docs("cooking/bread.md"),
      "# Bread\n\nKnead the dough, let it rise, then bake it in a hot oven.\n\n# Cake\n\nA sponge cake wants eggs.\n",
    );
    await indexer.sync();
    await settle();
    expect(embedder.batches.flat().slice(before)).toEqual(["A sponge cake wants eggs."]);
    expect(vectors.status()).toMatchObject({ state: "ready", embedded: 6, total: 6 });
  });

  it("keeps the vectors of a renamed file without embedding it again", async () => {
    const before = embedder.batches.flat().length;
    await rename(docs("travel/ticket.txt"), docs("travel/train-ticket.txt"));
    await indexer.sync();
    await settle();
    expect(embedder.batches.flat().length).toBe(before);
    const hits = (await hybridSearch(db, "trains", {}, meaning)).hits;
    expect(names(hits)).toEqual(["travel/train-ticket.txt"]);
  });

  it("drops the vectors of a deleted file with its chunks", async () => {
    await rm(docs("garden/tulips.md"));
    await indexer.sync();
    await settle();
    expect((await hybridSearch(db, "flowers", {}, meaning)).hits).toHaveLength(0);
    const orphans = scalar(
      db,
      "SELECT COUNT(*) FROM doc_vectors v LEFT JOIN doc_chunks c ON c.id = v.chunk_id WHERE c.id IS NULL",
    );
    expect(orphans).toBe(0);
    assertIndexConsistent(db);
  });

  it("sees vectors another connection (another process) wrote", async () => {
    const other = openDatabase(join(dir, "elmwood.db"));
    try {
      const store = new VectorStore(other);
      expect(store.nearest(conceptVector("tickets"), 1)).toHaveLength(1);
      await writeFile(docs("garden/roses.txt"), "Roses want sun and a rich soil.\n");
      await indexer.sync();
      await settle();
      const [nearest] = store.nearest(conceptVector("rose garden"), 1);
      const path = scalar(
        other,
        "SELECT f.path FROM doc_chunks c JOIN doc_files f ON f.id = c.file_id WHERE c.id = ?",
        nearest.chunkId,
      );
      expect(path).toBe(docs("garden/roses.txt"));
    } finally {
      other.close();
    }
  });

  it("drops every vector and embeds again when the model changes", async () => {
    const next = new ConceptEmbedder({ modelId: "test/concepts@2" });
    const switched = new VectorIndexer(db, { openEmbedder: async () => next });
    try {
      switched.wake();
      await switched.whenIdle();
      const { embedded, total } = switched.status();
      expect(embedded).toBe(total);
      expect(next.batches.flat()).toHaveLength(total);
      expect(new VectorStore(db).space()?.model).toBe("test/concepts@2");
    } finally {
      await switched.close();
    }
  });
});

describe("pausing the meaning index", () => {
  it("stops the batch in flight at once and carries on where it stopped", async () => {
    const { dir, cleanup } = await tempDir();
    await mkdir(join(dir, "docs"));
    for (let i = 0; i < 6; i++) await writeFile(join(dir, "docs", `${i}.txt`), `Note ${i} about a train.\n`);
    const { db, indexer } = openTestIndex(dir);
    const slow = new ConceptEmbedder({ delayMs: 60_000 });
    const vectors = new VectorIndexer(db, { openEmbedder: async () => slow, batchSize: 2 });
    try {
      await indexer.addFolder(join(dir, "docs"));
      await indexer.whenIdle();
      const embedding = new Promise<void>((resolve) => {
        const off = vectors.on((e) => {
          if (e.status.state === "embedding") {
            off();
            resolve();
          }
        });
      });
      vectors.wake();
      await embedding;
      vectors.pause();
      await vectors.whenIdle();
      expect(vectors.status()).toMatchObject({ state: "paused", embedded: 0, total: 6 });
      const fast = new VectorIndexer(db, { openEmbedder: async () => new ConceptEmbedder(), batchSize: 2 });
      fast.wake();
      await fast.whenIdle();
      expect(fast.status()).toMatchObject({ state: "ready", embedded: 6 });
      await fast.close();
    } finally {
      await indexer.close();
      await vectors.close();
      db.close();
      await cleanup();
    }
  });
});

describe("reciprocal rank fusion", () => {
  it("puts what both lists rank high above what one list ranks first", () => {
    const fused = fuseRankings([
      [1, 2, 3],
      [4, 2, 5],
    ]);
    expect(fused.map((f) => f.id)).toEqual([2, 1, 4, 3, 5]);
    expect(fused[0].score).toBeCloseTo(1 / 62 + 1 / 62, 10);
  });
});
