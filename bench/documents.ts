/**
 * Documents benchmark: indexing throughput on a generated corpus (files/s, MB/s, through the real
 * path: walk, worker-thread extraction and chunking with the Llama tokenizer, one transaction per
 * file), then search latency (p50/p95) once the index holds 100,000 chunks, for whole queries and for
 * every prefix a person types on the way to them: by words alone (searchIndex), then hybrid (words
 * and meaning fused, hybridSearch) with every query embedded by a model of all-MiniLM-L6-v2's shape.
 * Embedding throughput is that model embedding indexed chunks in its worker, as indexing does.
 *
 * The 100,000 chunks get their vectors from a word-hashing stand-in (each word a fixed random
 * direction): embedding them with the real-sized model would take hours on two cores, and the search
 * costs the same for any vectors of the same width.
 *
 * Run: node bin/run-ts.js bench/documents.ts   (ELMWOOD_BENCH_FILES, ELMWOOD_BENCH_CHUNKS to shrink)
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { OnnxEmbedder } from "../engine/documents/embedding/embedder.ts";
import { WorkerEmbedder } from "../engine/documents/embedding/worker-embedder.ts";
import { hybridSearch, type MeaningIndex } from "../engine/documents/hybrid-search.ts";
import { IndexStore } from "../engine/documents/index-store.ts";
import { DocumentIndexer } from "../engine/documents/indexer.ts";
import { searchIndex } from "../engine/documents/search.ts";
import type { Chunk } from "../engine/documents/types.ts";
import { VectorStore } from "../engine/documents/vectors/vector-store.ts";
import { type Db, openDatabase, scalar } from "../engine/store/database.ts";
import { MINILM_L6_SHAPE, writeRandomBert } from "../test/support/random-bert.ts";

/** A small deterministic PRNG, so every run indexes the same corpus. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES =
  "ka lo mi ren tar vel qui dor san bel fa ri mon tel gra pe su lin cor ha ve no ar is um".split(" ");

/** A vocabulary with a Zipf-like frequency: a few words everywhere, most words rare, as in real text. */
function vocabulary(random: () => number, size: number): { word: () => string; words: string[] } {
  const words = Array.from({ length: size }, () => {
    const n = 2 + Math.floor(random() * 3);
    return Array.from({ length: n }, () => SYLLABLES[Math.floor(random() * SYLLABLES.length)]).join("");
  });
  return { words, word: () => words[Math.floor(size ** random()) - 1] };
}

function sentence(random: () => number, word: () => string): string {
  const n = 8 + Math.floor(random() * 12);
  const text = Array.from({ length: n }, word).join(" ");
  return `${text[0].toUpperCase()}${text.slice(1)}.`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const DIMS = 384;

/** The stand-in embedder: each word a fixed random unit direction, a text the normalized sum. */
function wordHashEmbedder(): (text: string) => Float32Array {
  const directions = new Map<string, Float32Array>();
  const direction = (word: string) => {
    let v = directions.get(word);
    if (!v) {
      let h = 0x811c9dc5;
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
      const random = mulberry32(h);
      v = Float32Array.from({ length: DIMS }, () => random() - 0.5);
      directions.set(word, v);
    }
    return v;
  };
  return (text) => {
    const sum = new Float32Array(DIMS);
    for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
      const d = direction(word);
      for (let i = 0; i < DIMS; i++) sum[i] += d[i];
    }
    let norm = 0;
    for (const x of sum) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < DIMS; i++) sum[i] /= norm;
    return sum;
  };
}

/** A random model of all-MiniLM-L6-v2's shape in the hub layout, written once into the bench cache. */
async function minilmShapedModel(): Promise<string> {
  const dir = resolve(".cache/bench/minilm-l6-shape");
  if (!existsSync(join(dir, "onnx", "model.onnx")))
    await writeRandomBert(dir, { ...MINILM_L6_SHAPE, seed: 6 });
  return dir;
}

/** Chunks per second through the embedding worker, at indexing's batch size, after one warm-up batch. */
async function embeddingThroughput(db: Db, model: string, sample: number): Promise<number> {
  const texts = (
    db
      .prepare("SELECT text FROM doc_chunks ORDER BY id LIMIT ?")
      .raw()
      .all(sample + 32) as string[][]
  ).map((r) => r[0]);
  const embedder = await WorkerEmbedder.start(model, {
    modelId: "bench",
    threads: Math.max(1, availableParallelism() - 1),
  });
  try {
    await embedder.embed(texts.slice(0, 32));
    const started = performance.now();
    for (let i = 32; i < texts.length; i += 32) await embedder.embed(texts.slice(i, i + 32));
    return (texts.length - 32) / ((performance.now() - started) / 1000);
  } finally {
    await embedder.close();
  }
}

export async function benchDocuments(): Promise<Record<string, number>> {
  const fileCount = Number(process.env.ELMWOOD_BENCH_FILES ?? 10_000);
  const chunkTarget = Number(process.env.ELMWOOD_BENCH_CHUNKS ?? 100_000);
  const random = mulberry32(42);
  const { word, words } = vocabulary(random, 20_000);
  const root = await mkdtemp(join(tmpdir(), "elmwood-bench-docs-"));
  try {
    // Corpus: Markdown and text files of about 1-4 KB in 100 folders.
    const corpus = join(root, "corpus");
    let bytes = 0;
    for (let i = 0; i < fileCount; i++) {
      const folder = join(corpus, `f${i % 100}`);
      if (i < 100) await mkdir(folder, { recursive: true });
      const paragraphs = Array.from({ length: 2 + Math.floor(random() * 4) }, () =>
        Array.from({ length: 2 + Math.floor(random() * 4) }, () => sentence(random, word)).join(" "),
      );
      const markdown = i % 2 === 0;
      const body = markdown
        ? `# ${sentence(random, word)}\n\n${paragraphs.join("\n\n## Section\n\n")}\n`
        : `${paragraphs.join("\n\n")}\n`;
      bytes += Buffer.byteLength(body);
      await writeFile(join(folder, `doc${i}.${markdown ? "md" : "txt"}`), body);
    }

    const db = openDatabase(join(root, "elmwood.db"));
    const indexer = new DocumentIndexer(db);
    const started = performance.now();
    await indexer.addFolder(corpus);
    await indexer.whenIdle();
    const indexSeconds = (performance.now() - started) / 1000;
    const [status] = indexer.status();
    await indexer.close();
    const indexedChunks = Number(scalar(db, "SELECT COUNT(*) FROM doc_chunks"));

    // Top the index up to the chunk target with generated chunks written the same way (one file each).
    const store = new IndexStore(db);
    const { folder } = store.addFolder(join(root, "synthetic"));
    let chunks = indexedChunks;
    let fileNo = 0;
    const fillStarted = performance.now();
    while (chunks < chunkTarget) {
      const perFile = Math.min(10, chunkTarget - chunks);
      const list: Chunk[] = Array.from({ length: perFile }, (_, ordinal) => ({
        ordinal,
        text: Array.from({ length: 6 }, () => sentence(random, word)).join(" "),
        location: { label: `page ${ordinal + 1}`, page: ordinal + 1 },
        tokenCount: 150,
      }));
      store.writeIndexed(
        folder.id,
        { path: join(root, "synthetic", `s${fileNo++}.pdf`), kind: "pdf", size: 1, mtimeMs: 0 },
        list,
      );
      chunks += perFile;
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    db.exec("INSERT INTO doc_chunks_fts (doc_chunks_fts) VALUES ('optimize')");

    // Queries: common, mid-frequency and rare words, pairs, a phrase, and every prefix typed on the way.
    const byRank = (rank: number) => words[rank];
    const queries = [
      byRank(0),
      byRank(5),
      byRank(50),
      byRank(500),
      byRank(5000),
      `${byRank(3)} ${byRank(40)}`,
      `${byRank(10)} ${byRank(300)} ${byRank(2000)}`,
      `"${byRank(1)} ${byRank(2)}"`,
      `${byRank(20)} -${byRank(0)}`,
    ];
    const typed: string[] = [];
    for (const q of queries.slice(0, 7)) for (let n = 2; n <= q.length; n++) typed.push(q.slice(0, n));
    const measure = (list: string[], asYouType: boolean, rounds: number) => {
      const times: number[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const q of list) {
          const t = performance.now();
          searchIndex(db, q, { limit: 10, asYouType });
          times.push(performance.now() - t);
        }
      }
      return times.sort((a, b) => a - b);
    };
    measure(queries, false, 1); // warm the page cache
    const full = measure(queries, false, 20);
    const asYouType = measure(typed, true, 3);
    const totalChunks = Number(scalar(db, "SELECT COUNT(*) FROM doc_chunks"));

    // Meaning: embedding throughput with a model of the real size, then vectors for every chunk.
    process.stderr.write("embedding with a model of all-MiniLM-L6-v2's shape...\n");
    const model = await minilmShapedModel();
    const embedChunksPerSecond = await embeddingThroughput(
      db,
      model,
      Number(process.env.ELMWOOD_BENCH_EMBED ?? 256),
    );
    process.stderr.write("giving 100,000 chunks vectors...\n");
    const hashed = wordHashEmbedder();
    const vectors = new VectorStore(db);
    vectors.use({ model: "bench/word-hash", dims: DIMS });
    const vectorStarted = performance.now();
    for (let after = 0; ; ) {
      const batch = vectors.pending(1000, after);
      if (!batch.length) break;
      vectors.write(batch.map((c) => ({ chunkId: c.id, text: c.text, vector: hashed(c.text) })));
      after = batch[batch.length - 1].id;
    }
    const vectorSeconds = (performance.now() - vectorStarted) / 1000;

    // Hybrid: each query embedded by the model (one thread, as search does) before the search runs.
    const queryModel = await OnnxEmbedder.load(model, { threads: 1 });
    const embedTimes: number[] = [];
    const meaning: MeaningIndex = {
      store: vectors,
      embedQuery: async (text) => {
        const t = performance.now();
        await queryModel.embed([text]);
        embedTimes.push(performance.now() - t);
        return hashed(text);
      },
    };
    const measureHybrid = async (list: string[], asYouType: boolean, rounds: number) => {
      const times: number[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const q of list) {
          const t = performance.now();
          await hybridSearch(db, q, { limit: 10, asYouType }, meaning);
          times.push(performance.now() - t);
        }
      }
      return times.sort((a, b) => a - b);
    };
    await measureHybrid(queries, false, 1); // warm the caches and the first-pass index
    embedTimes.length = 0;
    const hybridFull = await measureHybrid(queries, false, 20);
    const hybridTyping = await measureHybrid(typed, true, 3);
    embedTimes.sort((a, b) => a - b);
    await queryModel.close();
    db.close();

    return {
      files: fileCount,
      indexed_files: status.indexed,
      corpus_mb: bytes / 1048576,
      index_seconds: indexSeconds,
      files_per_second: fileCount / indexSeconds,
      mb_per_second: bytes / 1048576 / indexSeconds,
      chunks_from_files: indexedChunks,
      chunks_total: totalChunks,
      fill_chunks_per_second: (totalChunks - indexedChunks) / Math.max(fillSeconds, 1e-9),
      query_p50_ms: percentile(full, 50),
      query_p95_ms: percentile(full, 95),
      typing_p50_ms: percentile(asYouType, 50),
      typing_p95_ms: percentile(asYouType, 95),
      typing_max_ms: asYouType[asYouType.length - 1],
      embed_chunks_per_second: embedChunksPerSecond,
      vectors_written_per_second: totalChunks / vectorSeconds,
      query_embed_p50_ms: percentile(embedTimes, 50),
      query_embed_p95_ms: percentile(embedTimes, 95),
      hybrid_query_p50_ms: percentile(hybridFull, 50),
      hybrid_query_p95_ms: percentile(hybridFull, 95),
      hybrid_typing_p50_ms: percentile(hybridTyping, 50),
      hybrid_typing_p95_ms: percentile(hybridTyping, 95),
      hybrid_typing_max_ms: hybridTyping[hybridTyping.length - 1],
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchDocuments();
  const rows = Object.entries(result).map(
    ([k, v]) => `${k.padEnd(24)} ${Number.isInteger(v) ? v : v.toFixed(2)}`,
  );
  process.stderr.write(`${rows.join("\n")}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
