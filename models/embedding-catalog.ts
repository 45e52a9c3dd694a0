/**
 * The sentence-embedding model that search by meaning runs on. One model, chosen for a desktop's CPU:
 * small (6 layers, 384 wide), permissively licensed, published by its authors with an ONNX export and
 * a tokenizer.json, and the most used embedding model on the hub. Figures are as the hub lists them;
 * a download trusts the hub's own sizes and hashes.
 */

export interface EmbeddingCatalogFile {
  path: string;
  /** Approximate size in bytes as published. */
  bytes: number;
}

export interface EmbeddingCatalogEntry {
  repoId: string;
  /** The store name, e.g. "all-minilm-l6-v2". */
  slug: string;
  /** What people see: "all-MiniLM-L6-v2". */
  name: string;
  licence: string;
  parameters: number;
  /** Width of a sentence vector. */
  dims: number;
  /** The longest text it reads, in word pieces; longer chunks are cut. */
  maxTokens: number;
  pooling: "mean" | "cls";
  /** The ONNX graph used, one of `files`. */
  onnx: string;
  files: EmbeddingCatalogFile[];
  description: string;
}

export const EMBEDDING_CATALOG: readonly EmbeddingCatalogEntry[] = [
  {
    repoId: "sentence-transformers/all-MiniLM-L6-v2",
    slug: "all-minilm-l6-v2",
    name: "all-MiniLM-L6-v2",
    licence: "Apache-2.0",
    parameters: 22_713_216,
    dims: 384,
    maxTokens: 256,
    pooling: "mean",
    onnx: "onnx/model.onnx",
    files: [
      { path: "onnx/model.onnx", bytes: 90_405_214 },
      { path: "tokenizer.json", bytes: 466_247 },
      { path: "tokenizer_config.json", bytes: 350 },
      { path: "special_tokens_map.json", bytes: 112 },
      { path: "config.json", bytes: 612 },
      { path: "modules.json", bytes: 349 },
      { path: "1_Pooling/config.json", bytes: 190 },
      { path: "sentence_bert_config.json", bytes: 53 },
    ],
    description:
      "Finds passages by what they mean, not only by their words: English, 384-dimensional vectors, mean pooling with L2 normalization.",
  },
];

/** The files a pull downloads: the ONNX graph the entry names and the small files that describe it. */
export const EMBEDDING_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "config.json",
  "modules.json",
  "1_Pooling/config.json",
  "sentence_bert_config.json",
] as const;

/** The embedding catalog entry for a repo id or slug (any case). */
export function findEmbeddingEntry(repoIdOrSlug: string): EmbeddingCatalogEntry | undefined {
  const key = repoIdOrSlug.toLowerCase();
  return EMBEDDING_CATALOG.find((e) => e.repoId.toLowerCase() === key || e.slug === key);
}

/** The model meaning search uses unless told otherwise. */
export function defaultEmbeddingEntry(): EmbeddingCatalogEntry {
  return EMBEDDING_CATALOG[0];
}

export function embeddingDownloadBytes(entry: EmbeddingCatalogEntry): number {
  return entry.files.reduce((sum, f) => sum + f.bytes, 0);
}
