/**
 * A small random BERT sentence-embedding model in the exact layout the hub publishes for
 * sentence-transformers models with an ONNX export: onnx/model.onnx (input_ids, attention_mask,
 * token_type_ids -> last_hidden_state), tokenizer.json (BERT normalizer and pre-tokenizer, WordPiece,
 * [CLS] $A [SEP]), tokenizer_config.json, config.json, modules.json, 1_Pooling/config.json and
 * sentence_bert_config.json. Deterministic from a seed. Tests, the fake hub and the benchmark use it in
 * place of a real model, so it imports no test framework.
 *
 * The weights come from `randomBertWeights`, which bert-reference.ts also reads: the reference
 * computes the same function with its own code, in float64.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DataType, GraphBuilder } from "../../engine/onnx/graph-builder.ts";
import { sfc32 } from "../../engine/runtime/random.ts";

export interface RandomBertOptions {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  /** Default 512. */
  maxPositions?: number;
  /** Words beyond the built-in vocabulary (default: a small English word list only). */
  extraWords?: string[];
  /** Pad the vocabulary to this size with "[unusedN]" tokens (all-MiniLM-L6-v2 has 30522). */
  vocabSize?: number;
  /** "mean" (all-MiniLM-L6-v2) or "cls" (bge-small). Default "mean". */
  pooling?: "mean" | "cls";
  /** Whether modules.json ends with a Normalize module. Default true. */
  normalize?: boolean;
  /** sentence_bert_config.json's max_seq_length. Default 256. */
  maxSeqLength?: number;
  seed?: number;
}

/** 2 layers, hidden 32: loads in milliseconds, every part of the graph on. */
export const TINY_BERT: RandomBertOptions = { layers: 2, hidden: 32, heads: 4, intermediate: 64 };

/** all-MiniLM-L6-v2's shapes (22.7M parameters, about 90 MB in fp32): for the benchmark. */
export const MINILM_L6_SHAPE: RandomBertOptions = {
  layers: 6,
  hidden: 384,
  heads: 12,
  intermediate: 1536,
  vocabSize: 30522,
};

export const LAYER_NORM_EPS = 1e-12;

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const WORDS = (
  "the a an of to and in is it that for on with as was by be this are or at from his her they we you " +
  "not but have has had which one all were when there can more will their if about out up so what " +
  "invoice billing statement payment receipt bill due amount account paid owe cost price money " +
  "garden flower plant tree seed water soil bloom rose leaf grow spring summer " +
  "engine motor car wheel drive road fuel speed travel train station ticket " +
  "report meeting project budget plan team schedule deadline review note " +
  "cat dog bird fish animal pet food eat cook recipe kitchen bread cheese"
).split(" ");
const PIECES = ["s", "es", "ed", "ing", "er", "ly", "ment", "tion"];

/** The vocabulary in id order: specials, characters, word pieces, words, then padding tokens. */
export function bertVocabulary(options: Pick<RandomBertOptions, "extraWords" | "vocabSize"> = {}): string[] {
  const chars = [..."abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"()-/&$%"];
  const words = [...WORDS, ...(options.extraWords ?? [])].map((w) => w.toLowerCase());
  const vocab = [...SPECIALS, ...chars, ...chars.map((c) => `##${c}`), ...PIECES.map((p) => `##${p}`)];
  const seen = new Set(vocab);
  for (const word of words) {
    if (!seen.has(word)) {
      seen.add(word);
      vocab.push(word);
    }
  }
  for (let i = 0; vocab.length < (options.vocabSize ?? 0); i++) vocab.push(`[unused${i}]`);
  return vocab;
}

export interface BertShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  vocabSize: number;
}

export function bertShape(options: RandomBertOptions): BertShape {
  return {
    layers: options.layers,
    hidden: options.hidden,
    heads: options.heads,
    intermediate: options.intermediate,
    maxPositions: options.maxPositions ?? 512,
    vocabSize: bertVocabulary(options).length,
  };
}

/**
 * The weights by their Hugging Face BertModel names, linear weights stored as [in, out] (the layout
 * the ONNX MatMul reads). A tensor depends only on the seed and its name.
 */
export function randomBertWeights(options: RandomBertOptions): Map<string, Float32Array> {
  const shape = bertShape(options);
  const { hidden: d, intermediate: f } = shape;
  const seed = options.seed ?? 0;
  const weights = new Map<string, Float32Array>();
  const tensor = (name: string, size: number, centre: number, std: number) => {
    let h = 0x811c9dc5 ^ seed;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    const random = sfc32(0x9e3779b9, h, seed | 0, h ^ 0x5bd1e995);
    const values = new Float32Array(size);
    // Uniform noise with the given standard deviation: sqrt(3) * std * (2u - 1).
    for (let i = 0; i < size; i++) values[i] = centre + Math.sqrt(3) * std * (2 * random() - 1);
    weights.set(name, values);
  };
  tensor("embeddings.word_embeddings.weight", shape.vocabSize * d, 0, 1);
  tensor("embeddings.position_embeddings.weight", shape.maxPositions * d, 0, 0.3);
  tensor("embeddings.token_type_embeddings.weight", 2 * d, 0, 0.3);
  tensor("embeddings.LayerNorm.weight", d, 1, 0.1);
  tensor("embeddings.LayerNorm.bias", d, 0, 0.1);
  for (let i = 0; i < shape.layers; i++) {
    const p = `encoder.layer.${i}.`;
    for (const name of ["query", "key", "value"]) {
      tensor(`${p}attention.self.${name}.weight`, d * d, 0, 1 / Math.sqrt(d));
      tensor(`${p}attention.self.${name}.bias`, d, 0, 0.1);
    }
    tensor(`${p}attention.output.dense.weight`, d * d, 0, 1 / Math.sqrt(d));
    tensor(`${p}attention.output.dense.bias`, d, 0, 0.1);
    tensor(`${p}attention.output.LayerNorm.weight`, d, 1, 0.1);
    tensor(`${p}attention.output.LayerNorm.bias`, d, 0, 0.1);
    tensor(`${p}intermediate.dense.weight`, d * f, 0, 1 / Math.sqrt(d));
    tensor(`${p}intermediate.dense.bias`, f, 0, 0.1);
    tensor(`${p}output.dense.weight`, f * d, 0, 1 / Math.sqrt(f));
    tensor(`${p}output.dense.bias`, d, 0, 0.1);
    tensor(`${p}output.LayerNorm.weight`, d, 1, 0.1);
    tensor(`${p}output.LayerNorm.bias`, d, 0, 0.1);
  }
  return weights;
}

/** The encoder as an ONNX graph, named after the places of Hugging Face's BertModel. */
export function bertGraph(options: RandomBertOptions, weights = randomBertWeights(options)): Uint8Array {
  const shape = bertShape(options);
  const { hidden: d, heads: h } = shape;
  const dh = d / h;
  const g = new GraphBuilder("bert");
  const w = (name: string, dims: number[]) => {
    const values = weights.get(name);
    if (!values) throw new Error(`no weight ${name}`);
    return g.initializer({
      name,
      dataType: DataType.FLOAT,
      dims,
      raw: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
  };
  const scalarFloat = (name: string, value: number) =>
    g.initializer({
      name,
      dataType: DataType.FLOAT,
      dims: [],
      raw: new Uint8Array(new Float32Array([value]).buffer),
    });
  const op = (
    name: string,
    type: string,
    inputs: string[],
    attributes?: Parameters<typeof g.node>[0]["attributes"],
  ) =>
    g.node({
      name: `${name}/${type}`,
      op: type,
      inputs,
      outputs: [`${name}/${type}_output_0`],
      attributes,
    })[0];
  const layerNorm = (name: string, x: string, weight: string) =>
    op(name, "LayerNormalization", [x, w(`${weight}.weight`, [d]), w(`${weight}.bias`, [d])], {
      axis: { int: -1 },
      epsilon: { float: LAYER_NORM_EPS },
    });
  const linear = (name: string, x: string, weight: string, inDim: number, outDim: number) =>
    op(name, "Add", [
      op(name, "MatMul", [x, w(`${weight}.weight`, [inDim, outDim])]),
      w(`${weight}.bias`, [outDim]),
    ]);

  const inputIds = g.input({
    name: "input_ids",
    dataType: DataType.INT64,
    shape: ["batch_size", "sequence_length"],
  });
  const mask = g.input({
    name: "attention_mask",
    dataType: DataType.INT64,
    shape: ["batch_size", "sequence_length"],
  });
  const typeIds = g.input({
    name: "token_type_ids",
    dataType: DataType.INT64,
    shape: ["batch_size", "sequence_length"],
  });

  // Embeddings: word + position + token type, then LayerNorm.  // [batch, seq, d]
  const words = op("/embeddings/word_embeddings", "Gather", [
    w("embeddings.word_embeddings.weight", [shape.vocabSize, d]),
    inputIds,
  ]);
  const inputShape = op("/embeddings", "Shape", [inputIds]);
  const seqLength = op("/embeddings", "Gather", [inputShape, g.int64s("/embeddings/seq_axis", [1], [])], {
    axis: { int: 0 },
  });
  const positionIds = op("/embeddings", "Range", [
    g.int64s("/embeddings/range_start", [0], []),
    seqLength,
    g.int64s("/embeddings/range_delta", [1], []),
  ]); // [seq]
  const positions = op("/embeddings/position_embeddings", "Gather", [
    w("embeddings.position_embeddings.weight", [shape.maxPositions, d]),
    positionIds,
  ]); // [seq, d]
  const types = op("/embeddings/token_type_embeddings", "Gather", [
    w("embeddings.token_type_embeddings.weight", [2, d]),
    typeIds,
  ]);
  const summed = op("/embeddings/add_types", "Add", [
    op("/embeddings/add_positions", "Add", [words, positions]),
    types,
  ]);
  let x = layerNorm("/embeddings/LayerNorm", summed, "embeddings.LayerNorm");

  // Padding keys get a large negative bias before the softmax.  // [batch, 1, 1, seq]
  const maskFloat = op("/extended_mask", "Cast", [mask], { to: { int: DataType.FLOAT } });
  const inverted = op("/extended_mask", "Sub", [scalarFloat("/extended_mask/one", 1), maskFloat]);
  const bias = op("/extended_mask", "Mul", [inverted, scalarFloat("/extended_mask/min", -1e9)]);
  const maskBias = op("/extended_mask", "Unsqueeze", [bias, g.int64s("/extended_mask/axes", [1, 2])]);

  const headsShape = g.int64s("/heads_shape", [0, 0, h, dh]);
  const mergedShape = g.int64s("/merged_shape", [0, 0, d]);
  const scale = scalarFloat("/attention_scale", 1 / Math.sqrt(dh));
  for (let i = 0; i < shape.layers; i++) {
    const p = `/encoder/layer.${i}`;
    const q = `encoder.layer.${i}.`;
    const split = (name: string, perm: number[]) =>
      op(
        `${p}/attention/self/${name}`,
        "Transpose",
        [
          op(`${p}/attention/self/${name}`, "Reshape", [
            linear(`${p}/attention/self/${name}`, x, `${q}attention.self.${name}`, d, d),
            headsShape,
          ]),
        ],
        { perm: { ints: perm } },
      );
    const query = split("query", [0, 2, 1, 3]); // [batch, heads, seq, dh]
    const key = split("key", [0, 2, 3, 1]); // [batch, heads, dh, seq]
    const value = split("value", [0, 2, 1, 3]); // [batch, heads, seq, dh]
    const scores = op(`${p}/attention/self/scores`, "Add", [
      op(`${p}/attention/self/scores`, "Mul", [
        op(`${p}/attention/self/scores`, "MatMul", [query, key]),
        scale,
      ]),
      maskBias,
    ]); // [batch, heads, seq, seq]
    const probs = op(`${p}/attention/self`, "Softmax", [scores], { axis: { int: -1 } });
    const context = op(`${p}/attention/self/context`, "Reshape", [
      op(
        `${p}/attention/self/context`,
        "Transpose",
        [op(`${p}/attention/self/context`, "MatMul", [probs, value])],
        {
          perm: { ints: [0, 2, 1, 3] },
        },
      ),
      mergedShape,
    ]); // [batch, seq, d]
    const attended = linear(`${p}/attention/output/dense`, context, `${q}attention.output.dense`, d, d);
    x = layerNorm(
      `${p}/attention/output/LayerNorm`,
      op(`${p}/attention/output`, "Add", [attended, x]),
      `${q}attention.output.LayerNorm`,
    );
    const inner = op(`${p}/intermediate`, "Gelu", [
      linear(`${p}/intermediate/dense`, x, `${q}intermediate.dense`, d, shape.intermediate),
    ]); // [batch, seq, intermediate]
    const out = linear(`${p}/output/dense`, inner, `${q}output.dense`, shape.intermediate, d);
    x = layerNorm(`${p}/output/LayerNorm`, op(`${p}/output`, "Add", [out, x]), `${q}output.LayerNorm`);
  }
  g.node({
    name: "/last_hidden_state/Identity",
    op: "Identity",
    inputs: [x],
    outputs: ["last_hidden_state"],
  });
  g.output({
    name: "last_hidden_state",
    dataType: DataType.FLOAT,
    shape: ["batch_size", "sequence_length", d],
  });
  return g.encode();
}

/** tokenizer.json as the tokenizers library writes it for a BERT uncased WordPiece tokenizer. */
export function bertTokenizerJson(vocab: string[]): Record<string, unknown> {
  const id = (token: string) => vocab.indexOf(token);
  return {
    version: "1.0",
    truncation: { direction: "Right", max_length: 128, strategy: "LongestFirst", stride: 0 },
    padding: null,
    added_tokens: SPECIALS.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(
        ["[CLS]", "[SEP]"].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }]),
      ),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i])),
    },
  };
}

/** The files of the model repository, by path, as the hub would list them. */
export function randomBertFiles(options: RandomBertOptions): Record<string, Uint8Array> {
  const shape = bertShape(options);
  const vocab = bertVocabulary(options);
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const pooling = options.pooling ?? "mean";
  const modules = [
    { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
    { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
    ...((options.normalize ?? true)
      ? [{ idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" }]
      : []),
  ];
  return {
    "config.json": json({
      architectures: ["BertModel"],
      model_type: "bert",
      hidden_size: shape.hidden,
      num_hidden_layers: shape.layers,
      num_attention_heads: shape.heads,
      intermediate_size: shape.intermediate,
      max_position_embeddings: shape.maxPositions,
      vocab_size: shape.vocabSize,
      type_vocab_size: 2,
      hidden_act: "gelu",
      layer_norm_eps: LAYER_NORM_EPS,
    }),
    "modules.json": json(modules),
    "1_Pooling/config.json": json({
      word_embedding_dimension: shape.hidden,
      pooling_mode_cls_token: pooling === "cls",
      pooling_mode_mean_tokens: pooling === "mean",
      pooling_mode_max_tokens: false,
      pooling_mode_mean_sqrt_len_tokens: false,
    }),
    "sentence_bert_config.json": json({ max_seq_length: options.maxSeqLength ?? 256, do_lower_case: false }),
    "tokenizer.json": json(bertTokenizerJson(vocab)),
    "tokenizer_config.json": json({
      do_lower_case: true,
      model_max_length: 512,
      cls_token: "[CLS]",
      sep_token: "[SEP]",
      pad_token: "[PAD]",
      unk_token: "[UNK]",
      mask_token: "[MASK]",
      tokenizer_class: "BertTokenizer",
    }),
    "special_tokens_map.json": json({
      cls_token: "[CLS]",
      sep_token: "[SEP]",
      pad_token: "[PAD]",
      unk_token: "[UNK]",
      mask_token: "[MASK]",
    }),
    "vocab.txt": new TextEncoder().encode(`${vocab.join("\n")}\n`),
    "README.md": new TextEncoder().encode("# A random BERT for tests\n"),
    "onnx/model.onnx": bertGraph(options),
  };
}

/** Writes the repository's files into `dir` (subfolders included). */
export async function writeRandomBert(dir: string, options: RandomBertOptions): Promise<void> {
  for (const [path, bytes] of Object.entries(randomBertFiles(options))) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
}
