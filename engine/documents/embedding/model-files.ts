/**
 * What a sentence-embedding model folder in the hub's sentence-transformers layout says about itself:
 * the ONNX graph, the tokenizer, how many tokens it reads (sentence_bert_config.json), how the token
 * vectors become one sentence vector (1_Pooling/config.json: the mean over the attention mask, or the
 * [CLS] token) and whether that vector is L2-normalized (a Normalize module in modules.json). Read
 * from the files, so a model is used exactly as its authors configured it.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ElmwoodError } from "../../errors.ts";

export type Pooling = "mean" | "cls";

export interface EmbeddingModelFiles {
  dir: string;
  /** The ONNX graph, relative to dir. */
  onnx: string;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** Longest input in tokens, [CLS] and [SEP] included. */
  maxTokens: number;
  /** Width of the sentence vector. */
  dims: number;
  pooling: Pooling;
  normalize: boolean;
}

/** The ONNX graphs a sentence-transformers repository may hold, in the order they are preferred. */
export const ONNX_CANDIDATES = ["onnx/model.onnx", "model.onnx"];

async function readJson(dir: string, path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, path), "utf8");
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ElmwoodError(
      "MODEL",
      `The embedding model in ${dir} has no readable ${path}.`,
      "Remove it on the Models page (or with 'elmwood models rm') and download it again.",
      { cause: error },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ElmwoodError(
      "MODEL",
      `${path} of the embedding model in ${dir} is not valid JSON.`,
      "Remove the model and download it again.",
      { cause: error },
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Reads and checks the model's description; MODEL with a way forward when something is off. */
export async function readEmbeddingModel(dir: string, onnx?: string): Promise<EmbeddingModelFiles> {
  const bad = (why: string) =>
    new ElmwoodError(
      "MODEL",
      `The embedding model in ${dir} cannot be used: ${why}.`,
      "Use a sentence-transformers model with an ONNX export, such as the one in 'elmwood models catalog'.",
    );
  let graph = onnx;
  if (!graph) {
    for (const candidate of ONNX_CANDIDATES) {
      if (await exists(join(dir, candidate))) {
        graph = candidate;
        break;
      }
    }
  }
  if (!graph || !(await exists(join(dir, graph)))) throw bad("it has no ONNX graph (onnx/model.onnx)");

  const tokenizerJson = (await readJson(dir, "tokenizer.json", true)) as Record<string, unknown>;
  const model = tokenizerJson?.model as { type?: string } | undefined;
  if (!model || typeof model !== "object") throw bad("tokenizer.json has no tokenizer model");
  const tokenizerConfig = ((await readJson(dir, "tokenizer_config.json", false)) ?? {}) as Record<
    string,
    unknown
  >;

  const config = ((await readJson(dir, "config.json", false)) ?? {}) as Record<string, unknown>;
  const pooling = (await readJson(dir, "1_Pooling/config.json", false)) as
    | Record<string, unknown>
    | undefined;
  const modules = ((await readJson(dir, "modules.json", false)) ?? []) as { type?: string }[];
  const bert = (await readJson(dir, "sentence_bert_config.json", false)) as
    | { max_seq_length?: number }
    | undefined;

  const dims = Number(pooling?.word_embedding_dimension ?? config.hidden_size);
  if (!Number.isInteger(dims) || dims < 1 || dims > 8192)
    throw bad("its width is not given (config.json hidden_size)");
  let mode: Pooling = "mean";
  if (pooling) {
    if (pooling.pooling_mode_cls_token === true) mode = "cls";
    else if (pooling.pooling_mode_mean_tokens !== true)
      throw bad("its pooling is neither the mean of the tokens nor the [CLS] token");
  }
  const normalize = Array.isArray(modules) && modules.some((m) => m?.type?.endsWith(".Normalize"));
  const positions = Number(config.max_position_embeddings ?? 512);
  const maxTokens = Math.min(Number(bert?.max_seq_length ?? positions), positions);
  if (!Number.isInteger(maxTokens) || maxTokens < 8)
    throw bad("its longest input (max_seq_length) is not usable");
  return { dir, onnx: graph, tokenizerJson, tokenizerConfig, maxTokens, dims, pooling: mode, normalize };
}
