/**
 * Puts a random BERT into a profile's model store as if `elmwood models pull all-minilm-l6-v2` had
 * installed it (same installer, same record), for tests that need the embedding model but are not
 * about downloading it.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { elmwoodPaths } from "../../engine/paths.ts";
import { defaultEmbeddingEntry } from "../../models/embedding-catalog.ts";
import { type InstalledEmbedding, installEmbedding } from "../../models/embedding-store.ts";
import { type RandomBertOptions, TINY_BERT, writeRandomBert } from "./random-bert.ts";

async function filesBelow(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesBelow(path, root)));
    else out.push(relative(root, path));
  }
  return out;
}

export async function installRandomEmbedding(
  home: string,
  options: RandomBertOptions = { ...TINY_BERT, seed: 5 },
): Promise<InstalledEmbedding> {
  const source = await mkdtemp(join(tmpdir(), "elmwood-bert-"));
  try {
    await writeRandomBert(source, options);
    const entry = defaultEmbeddingEntry();
    return await installEmbedding({
      sourceDir: source,
      files: await filesBelow(source),
      onnx: entry.onnx,
      repoId: entry.repoId,
      revision: `test-${options.seed ?? 0}`,
      name: entry.slug,
      paths: elmwoodPaths(home),
    });
  } finally {
    await rm(source, { recursive: true, force: true });
  }
}
