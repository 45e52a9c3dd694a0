/**
 * The one list of everything a front door can ask of the engine (calls) and everything the engine
 * tells them (events), each with a runtime schema. The desktop app's IPC, the browser mode's HTTP, the
 * OpenAI-compatible API and the CLI are all bound from these two objects, so a call cannot exist in
 * one door and be missing in another.
 *
 * This file imports only zod (and types): the renderer imports it, and the renderer has no Node.
 *
 * Inputs are bounded (string lengths, array sizes, number ranges) because they cross trust
 * boundaries. Long work (downloads, imports, indexing, generation, summaries) returns an id at once
 * and reports through events; a call never blocks for minutes.
 */
import { z } from "zod";
import { type CallName, ERROR_CODES, type EventName } from "./names.ts";

export {
  CALL_NAMES,
  type CallName,
  ERROR_CODES,
  EVENT_NAMES,
  type EventName,
  IPC_EVENT_CHANNEL,
  ipcCallChannel,
  isCallName,
  isEventName,
} from "./names.ts";

export const CONTRACT_VERSION = 1;

// ---------------------------------------------------------------------------------------------------
// Building blocks

/** Ids of conversations, messages, requests and jobs: short, URL- and filename-safe. */
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "must be letters, digits, '_' or '-'");

/** A store model name, e.g. "openelm-270m-instruct-int4". */
export const ModelName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lower-case letters, digits, '.', '_' or '-'");

/**
 * A remote engine's name, the first part of its models' names ("gpu" in "gpu/llama-3.1-8b"). It
 * cannot contain "/", so a model name with one is always a remote model's.
 */
export const EngineName = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "must be lower-case letters, digits, '_' or '-'");

/** A remote engine's model: `<engine>/<the model's id as the engine lists it>`. */
export const RemoteModelName = z
  .string()
  .max(233)
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,31}\/[!-~\u00a1-\uffff]{1,200}$/,
    "must be <engine>/<model>, as the engine's models are listed",
  );

/** Any model a call can name: an installed model, or a remote engine's as `<engine>/<model>`. */
export const ModelRef = z
  .string()
  .min(1)
  .max(233)
  .refine(
    (name) => ModelName.safeParse(name).success || RemoteModelName.safeParse(name).success,
    "must be an installed model's name, or <engine>/<model> for a remote engine's",
  );

/** A file or folder path on the machine running the engine. */
export const FsPath = z.string().min(1).max(4096);

/** An ElmwoodError as it crosses a door: what happened, then what to do. */
export const ErrorInfo = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  hint: z.string().optional(),
});

export const ProviderChoice = z.enum(["auto", "cpu", "webgpu", "cuda", "dml", "coreml"]);
export const ProviderName = z.enum(["cpu", "webgpu", "cuda", "dml", "coreml"]);
export const Precision = z.enum(["fp32", "int8", "int4"]);
export const FinishReason = z.enum(["eos", "stop", "length", "context", "cancelled"]);
export const Role = z.enum(["system", "user", "assistant"]);
export const SummaryStyle = z.enum(["short", "bullets", "detailed"]);
export const DocumentKind = z.enum(["pdf", "docx", "html", "markdown", "text", "code"]);

/** How replies are sampled, and how long they may be. OpenELM wants repetition penalty 1.2. */
export const Sampling = z.strictObject({
  temperature: z.number().min(0).max(5),
  topP: z.number().gt(0).max(1),
  topK: z.number().int().min(0).max(1000),
  minP: z.number().min(0).lt(1),
  repetitionPenalty: z.number().min(1).max(3),
  /** The longest reply, in tokens. */
  maxTokens: z.number().int().min(1).max(2048),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
});
export const SamplingPatch = Sampling.partial();

/** Text a person typed: a chat message, a system prompt. */
const MessageText = z.string().min(1).max(32_000);
const SystemPrompt = z.string().max(8_000);
const Title = z.string().trim().min(1).max(200);
const Limit = (max: number, fallback: number) => z.number().int().min(1).max(max).default(fallback);
const Offset = z.number().int().min(0).max(1_000_000).default(0);
const Empty = z.strictObject({});
const Timestamp = z.number().int().min(0); // ms since the epoch

// ---------------------------------------------------------------------------------------------------
// Search by meaning and chat grounded in documents (issue 14): the pieces other sections refer to

/** What made a search hit: its words (full-text), its meaning (vectors), or both. */
export const MatchedBy = z.enum(["words", "meaning", "both"]);

/** no-model: search stays by words; waiting: the word index goes first; ready: every chunk has a vector. */
export const MeaningState = z.enum(["no-model", "waiting", "embedding", "ready", "paused", "error"]);

export const MeaningStatus = z.object({
  state: MeaningState,
  /** The embedding model the vectors come from ("repo@revision"). */
  model: z.string().nullable(),
  embedded: z.number().int(),
  total: z.number().int(),
  chunksPerSecond: z.number().nullable(),
  message: z.string().nullable(),
});

/** A folder or file a conversation draws on. */
export const ConversationAttachment = z.object({
  path: z.string(),
  kind: z.enum(["folder", "file"]),
  addedAt: Timestamp,
});

/** A passage a reply was given, numbered as the reply cites it ([n]). */
export const CitedChunk = z.object({
  n: z.number().int(),
  /** null when the passage has since left the index (its file changed or went). */
  chunkId: z.number().int().nullable(),
  path: z.string(),
  location: z.string(),
  snippet: z.string(),
  /** The passage as the model read it. */
  text: z.string(),
  /** The reply cites it. */
  cited: z.boolean(),
  /** The person removed it: later turns of the conversation leave it out. */
  excluded: z.boolean(),
});

// ---------------------------------------------------------------------------------------------------
// Conversations and chat

export const MessageStats = z.object({
  promptTokens: z.number().int(),
  /** Prompt tokens whose keys and values came from the prefix cache. */
  reusedTokens: z.number().int(),
  completionTokens: z.number().int(),
  tokensPerSecond: z.number(),
  firstTokenMs: z.number(),
  totalMs: z.number(),
  finishReason: FinishReason,
  /** The counts are Elmwood's estimates: a remote engine (its own tokenizer) that reported no usage. */
  estimated: z.boolean().optional(),
});

/**
 * Why a reply ended before it was finished when the person did not press Stop: Elmwood stopped
 * (killed, crashed, or closed) while writing it, or the model was switched, restarted, unloaded or
 * removed. What was written is kept; the message says what happened, ready to show as it is.
 */
export const Interruption = z.object({
  cause: z.enum([
    "crash",
    "quit",
    "model-switched",
    "model-reloaded",
    "model-unloaded",
    "model-removed",
    // A remote engine's reply broke off (the connection dropped, or the stream stopped making sense),
    // or the person removed the engine while it wrote.
    "connection-lost",
    "engine-failed",
    "engine-removed",
  ]),
  /** The model switched to, the one removed, or the remote model that broke off; null otherwise. */
  model: z.string().nullable(),
  /** A sentence saying what happened, for the message's footer. */
  message: z.string(),
});

export const Message = z.object({
  id: Id,
  conversationId: Id,
  parentId: Id.nullable(),
  role: Role,
  content: z.string(),
  createdAt: Timestamp,
  /** The model that wrote an assistant message. */
  model: z.string().nullable(),
  /** Assistant messages only. */
  stats: MessageStats.nullable(),
  /** Set when the reply was cut short by something other than the person's Stop. */
  interruption: Interruption.nullable(),
  /** This message and its alternatives (same parent), oldest first: "< 2/3 >". */
  siblingIds: z.array(Id),
  siblingIndex: z.number().int(),
  /** Assistant replies grounded in documents: the passages they were given. */
  sources: z.array(CitedChunk).optional(),
});

export const ConversationSettings = z.object({
  systemPrompt: z.string(),
  sampling: Sampling,
  /** null: the default model at the time of sending. */
  model: z.string().nullable(),
});
export const ConversationSettingsPatch = z.strictObject({
  systemPrompt: SystemPrompt.optional(),
  sampling: SamplingPatch.optional(),
  model: ModelRef.nullable().optional(),
});

export const ConversationSummary = z.object({
  id: Id,
  title: z.string(),
  model: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  messageCount: z.number().int(),
});

export const Conversation = ConversationSummary.extend({
  settings: ConversationSettings,
  /** The last message of the branch on screen; null for an empty conversation. */
  activeLeafId: Id.nullable(),
  /** The branch on screen, root first. */
  messages: z.array(Message),
  /** The folders and files the conversation draws on. */
  attachments: z.array(ConversationAttachment).optional(),
});

/** What a started reply is known by until chat.done or chat.error arrives. */
export const ChatStarted = z.object({
  requestId: Id,
  conversationId: Id,
  /** The user message the reply answers. */
  userMessage: Message,
  /** The id the assistant message will have once it is saved. */
  assistantMessageId: Id,
});

export const ConversationHit = z.object({
  conversationId: Id,
  title: z.string(),
  /** The message that matched; null when only the title did. */
  messageId: Id.nullable(),
  /** Text around the match in the message; "" when only the title matched. */
  snippet: z.string(),
  /** [start, end) character ranges of the matched words in `snippet`. */
  highlights: z.array(z.tuple([z.number().int(), z.number().int()])),
  /** The same for `title`. */
  titleHighlights: z.array(z.tuple([z.number().int(), z.number().int()])),
  updatedAt: Timestamp,
});

export const ExportFormat = z.enum(["md", "json"]);

/** An exported conversation, ready to be saved as a file. */
export const ConversationFile = z.object({
  /** A suggested file name, e.g. "Trees by the river.md". */
  filename: z.string(),
  mimeType: z.string(),
  content: z.string(),
});

// ---------------------------------------------------------------------------------------------------
// Models

export const ModelInfo = z.object({
  name: z.string(),
  precision: Precision,
  bytes: z.number(),
  parameters: z.number(),
  contextLength: z.number().int(),
  isDefault: z.boolean(),
  createdAt: z.string(),
  source: z.object({
    path: z.string(),
    repoId: z.string().nullable(),
    managed: z.boolean(),
    present: z.boolean(),
  }),
});

export const CatalogItem = z.object({
  repoId: z.string(),
  slug: z.string(),
  size: z.string(),
  instruct: z.boolean(),
  parameters: z.number(),
  contextLength: z.number().int(),
  /** At the default precision (int4). */
  estimate: z.object({
    precision: Precision,
    diskBytes: z.number(),
    memoryBytes: z.number(),
    downloadBytes: z.number(),
  }),
  /** Store names of installed models converted from this repository. */
  installed: z.array(z.string()),
});

/** An installed embedding model (search by meaning). */
export const EmbeddingModelInfo = z.object({
  name: z.string(),
  repoId: z.string(),
  revision: z.string(),
  dims: z.number().int(),
  maxTokens: z.number().int(),
  pooling: z.enum(["mean", "cls"]),
  normalize: z.boolean(),
  bytes: z.number(),
  licence: z.string().nullable(),
  createdAt: z.string(),
});

export const EmbeddingCatalogItem = z.object({
  repoId: z.string(),
  slug: z.string(),
  name: z.string(),
  licence: z.string(),
  parameters: z.number(),
  dims: z.number().int(),
  maxTokens: z.number().int(),
  downloadBytes: z.number(),
  description: z.string(),
  installed: z.boolean(),
});

export const DownloadInfo = z.object({
  repoId: z.string(),
  complete: z.boolean(),
  presentBytes: z.number(),
  totalBytes: z.number(),
});

export const ModelState = z.enum(["none", "unloaded", "loading", "ready", "error"]);

export const ModelStatus = z.object({
  /** none: no model installed; unloaded: installed, not in memory yet (loads on first chat). */
  state: ModelState,
  name: z.string().nullable(),
  provider: z.object({ name: ProviderName, label: z.string(), reason: z.string() }).nullable(),
  providerChoice: ProviderChoice,
  /** null: onnxruntime's default. */
  threads: z.number().int().nullable(),
  loadMs: z.number().nullable(),
  contextLength: z.number().int().nullable(),
  error: ErrorInfo.nullable(),
});

/** One step of a pull or an import, as models/progress.ts reports it. */
export const LibraryProgress = z.discriminatedUnion("type", [
  z.object({ type: z.literal("wait"), what: z.string(), holder: z.string() }),
  z.object({ type: z.literal("resolve"), repoId: z.string(), revision: z.string() }),
  z.object({
    type: z.literal("plan"),
    repoId: z.string(),
    commit: z.string(),
    files: z.array(z.object({ path: z.string(), bytes: z.number(), presentBytes: z.number() })),
    totalBytes: z.number(),
    presentBytes: z.number(),
  }),
  z.object({
    type: z.literal("download"),
    file: z.string(),
    fileBytes: z.number(),
    fileTotal: z.number(),
    bytes: z.number(),
    totalBytes: z.number(),
    bytesPerSecond: z.number(),
    etaSeconds: z.number().nullable(),
  }),
  z.object({
    type: z.literal("retry"),
    file: z.string().optional(),
    attempt: z.number(),
    retries: z.number(),
    delayMs: z.number(),
    reason: z.string(),
  }),
  z.object({
    type: z.literal("verified"),
    file: z.string(),
    bytes: z.number(),
    check: z.enum(["sha256", "git-sha1", "size"]),
  }),
  z.object({ type: z.literal("validate"), dir: z.string() }),
  z.object({ type: z.literal("convert"), phase: z.string(), done: z.number(), total: z.number() }),
  z.object({ type: z.literal("done"), name: z.string(), dir: z.string() }),
  /** The job ended: the installed model. */
  z.object({ type: z.literal("finished"), model: ModelInfo }),
  /** The job ended: the installed embedding model (a pull of the catalog's embedding model). */
  z.object({ type: z.literal("finished-embedding"), model: EmbeddingModelInfo }),
  /** The job ended without a model (code CANCELLED after models.pause or models.cancel). */
  z.object({ type: z.literal("failed"), error: ErrorInfo }),
]);

// ---------------------------------------------------------------------------------------------------
// Documents

export const FolderState = z.enum(["pending", "scanning", "indexing", "ready", "missing", "error"]);

export const FolderStatus = z.object({
  id: z.number().int(),
  path: z.string(),
  addedAt: Timestamp,
  state: FolderState,
  message: z.string().nullable(),
  filesTotal: z.number().int(),
  filesDone: z.number().int(),
  indexed: z.number().int(),
  skipped: z.number().int(),
  errors: z.number().int(),
  chunks: z.number().int(),
  bytes: z.number(),
  problems: z.array(
    z.object({ path: z.string(), status: z.enum(["indexed", "skipped", "error"]), reason: z.string() }),
  ),
});

export const IndexProgress = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("folder"),
    folderId: z.number().int(),
    path: z.string(),
    state: FolderState,
    message: z.string().optional(),
  }),
  z.object({
    type: z.literal("progress"),
    folderId: z.number().int(),
    path: z.string(),
    done: z.number().int(),
    total: z.number().int(),
  }),
  z.object({ type: z.literal("watching"), folderId: z.number().int(), path: z.string() }),
  z.object({
    type: z.literal("file"),
    folderId: z.number().int(),
    path: z.string(),
    outcome: z.enum(["indexed", "unchanged", "skipped", "error", "removed"]),
    reason: z.string().optional(),
    chunks: z.number().int().optional(),
  }),
  z.object({ type: z.literal("idle") }),
  /** Chunks getting their vectors (search by meaning). */
  z.object({ type: z.literal("meaning"), status: MeaningStatus }),
]);

const SearchFilters = {
  folders: z.array(FsPath).max(50).optional(),
  kinds: z.array(DocumentKind).max(6).optional(),
  modifiedAfter: Timestamp.optional(),
  modifiedBefore: Timestamp.optional(),
};

export const SearchHit = z.object({
  chunkId: z.number().int(),
  path: z.string(),
  kind: DocumentKind.nullable(),
  location: z.string(),
  page: z.number().int().nullable(),
  lines: z.tuple([z.number().int(), z.number().int()]).nullable(),
  score: z.number(),
  matched: MatchedBy,
  /** Cosine similarity to the query, when the hit was ranked by meaning. */
  similarity: z.number().nullable(),
  snippet: z.string(),
  highlights: z.array(z.tuple([z.number().int(), z.number().int()])),
  text: z.string(),
  modifiedMs: z.number(),
});

export const SearchResult = z.object({
  query: z.string(),
  partial: z.boolean(),
  match: z.string(),
  hits: z.array(SearchHit),
  tookMs: z.number(),
  /** "hybrid": by words and meaning; "words": by words only (see `meaning` for why). */
  mode: z.enum(["hybrid", "words"]),
  meaning: MeaningStatus,
});

export const GroundingSource = z.object({ path: z.string(), location: z.string(), text: z.string() });

export const GroundedAnswer = z.object({
  answer: z.string(),
  citations: z.array(z.object({ n: z.number().int(), source: GroundingSource })),
  invalidCitations: z.array(z.number().int()),
  notFound: z.boolean(),
  sourcesUsed: z.number().int(),
});

export const SummaryResult = z.object({
  style: SummaryStyle,
  summary: z.string(),
  parts: z.array(
    z.object({
      location: z.string(),
      chunks: z.tuple([z.number().int(), z.number().int()]),
      summary: z.string(),
    }),
  ),
  levels: z.number().int(),
  calls: z.number().int(),
});

/** A started job (pull, import, summary, answer): follow it by its id in the events. */
export const JobStarted = z.object({ jobId: Id });

// ---------------------------------------------------------------------------------------------------
// Remote engines: OpenAI-compatible servers the person added (vLLM, a llama.cpp server, Ollama, LM
// Studio, another Elmwood). Nothing is sent anywhere until one is added; an API key, once set, never
// comes back through a door (only whether one is set).

/** An API key as an Authorization header can carry it. */
const ApiKey = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x21-\x7e]+$/, "must be visible ASCII without spaces");
/** A context window the person sets for an engine that does not report one. */
const ContextWindow = z.number().int().min(256).max(10_000_000);

export const RemoteModelInfo = z.object({
  /** `<engine>/<id>`: the name every door takes. */
  name: z.string(),
  /** The model's id as the engine lists it. */
  id: z.string(),
  engine: z.string(),
  /** Where its prompts go: "gpu-box:8000". */
  host: z.string(),
  /** The window the context meter and the fit check use. */
  contextLength: z.number().int(),
  /** engine: reported by GET /v1/models (vLLM's max_model_len); settings: set by the person; assumed: neither. */
  contextSource: z.enum(["engine", "settings", "assumed"]),
  isDefault: z.boolean(),
});

export const EngineInfo = z.object({
  name: z.string(),
  /** e.g. http://gpu-box:8000/v1 */
  baseUrl: z.string(),
  host: z.string(),
  /** Plain http to another machine: what is sent crosses the network unencrypted (the person agreed). */
  unencrypted: z.boolean(),
  hasKey: z.boolean(),
  /** Where the key is kept: the desktop app's encrypted storage, or a file readable by its owner only. */
  keyStorage: z.enum(["encrypted", "file"]).nullable(),
  /** The window set for models whose engine reports none; null: not set. */
  contextLength: z.number().int().nullable(),
  models: z.array(RemoteModelInfo),
  addedAt: Timestamp,
  /** When its models were last listed. */
  checkedAt: Timestamp.nullable(),
  /** Why the last refresh failed (the models shown are from the one before); null after a good one. */
  error: ErrorInfo.nullable(),
});

export const EngineAdd = z.strictObject({
  /** The base URL, e.g. http://127.0.0.1:8000/v1 ("/v1" is added to a bare address). */
  baseUrl: z.string().trim().min(1).max(2000),
  name: EngineName.optional(),
  apiKey: ApiKey.optional(),
  contextLength: ContextWindow.optional(),
  /** The person read the warning: plain http to a machine other than this one. */
  allowUnencrypted: z.boolean().optional(),
});

export const EngineUpdate = z.strictObject({
  name: EngineName,
  /** A new key, or null to send none. */
  apiKey: ApiKey.nullable().optional(),
  contextLength: ContextWindow.nullable().optional(),
});

/** A remote model writing something now, for "sent to <host>". */
export const RemoteUse = z.object({ model: z.string(), host: z.string() });

// ---------------------------------------------------------------------------------------------------
// Settings and status

/** The OpenAI-compatible local API: its stored settings and whether it is listening now. */
export const ApiStatus = z.object({
  enabled: z.boolean(),
  port: z.number().int(),
  allowRemote: z.boolean(),
  /** The bearer token clients send; shown in Settings. */
  token: z.string(),
  /** ELMWOOD_API_TOKEN overrides the stored token while it is set. */
  tokenFromEnvironment: z.boolean(),
  running: z.boolean(),
  /** e.g. http://127.0.0.1:4861/v1 while running. */
  baseUrl: z.string().nullable(),
  /** Why it is not running although enabled (port in use, ...). */
  error: z.string().nullable(),
  /** Grows with every change, so a client can tell a late answer from a newer event. */
  revision: z.number().int(),
});
export const ApiPatch = z.strictObject({
  enabled: z.boolean().optional(),
  port: z.number().int().min(1024).max(65_535).optional(),
  allowRemote: z.boolean().optional(),
});

export const Settings = z.object({
  provider: ProviderChoice,
  /** null: onnxruntime's default. */
  threads: z.number().int().min(1).max(256).nullable(),
  /** For new conversations. */
  sampling: Sampling,
  systemPrompt: z.string(),
  summaryStyle: SummaryStyle,
  theme: z.enum(["system", "light", "dark"]),
  /** Follow changes in indexed folders while the app runs. */
  watchFolders: z.boolean(),
  /** Give indexed chunks vectors in the background, so search finds them by meaning. */
  meaningSearch: z.boolean(),
  /** Let the model on this computer read a chat message while it is typed (chat.prepare). */
  readAhead: z.boolean(),
});

export const SettingsPatch = z.strictObject({
  provider: ProviderChoice.optional(),
  threads: z.number().int().min(1).max(256).nullable().optional(),
  sampling: SamplingPatch.optional(),
  systemPrompt: SystemPrompt.optional(),
  summaryStyle: SummaryStyle.optional(),
  theme: z.enum(["system", "light", "dark"]).optional(),
  watchFolders: z.boolean().optional(),
  meaningSearch: z.boolean().optional(),
  readAhead: z.boolean().optional(),
});

export const Status = z.object({
  contractVersion: z.number().int(),
  model: ModelStatus,
  generation: z.object({ running: z.boolean(), waiting: z.number().int() }),
  documents: z.object({
    folders: z.number().int(),
    indexing: z.boolean(),
    meaning: MeaningStatus.pick({ state: true, embedded: true, total: true }),
  }),
  /** Remote models writing now (a reply, a summary, an answer, an API request): text goes to their host. */
  remote: z.object({ inUse: z.array(RemoteUse) }),
  /** The profile folder (ELMWOOD_HOME or the app-data folder). */
  home: z.string(),
});

// ---------------------------------------------------------------------------------------------------
// Storage: where the profile and the model store are, and moving the model store

export const StorageInfo = z.object({
  /** The profile folder (database, settings, caches): ELMWOOD_HOME or the app-data folder. */
  dataFolder: z.string(),
  /** Whether ELMWOOD_HOME chose it. */
  dataFolderFromEnvironment: z.boolean(),
  /** The model store's folder; models/ and downloads/ are inside it. */
  modelsFolder: z.string(),
  modelsPath: z.string(),
  downloadsPath: z.string(),
  /** The move running now, if any. */
  moving: z.object({ jobId: Id, to: z.string() }).nullable(),
  /** An interrupted move that could not be finished or undone at start (a disk unplugged). */
  problem: ErrorInfo.nullable(),
  /** Whether Settings can move the data folder (not when ELMWOOD_HOME or the program chose it). */
  dataFolderMovable: z.boolean(),
  /** The data folder profile-location.json names could not be reached: this says why (the default one is used). */
  dataFolderProblem: z.string().nullable(),
  /** A move of the data folder waiting for the next start, or one that failed there (the data stayed). */
  dataMove: z
    .object({
      state: z.enum(["scheduled", "failed"]),
      to: z.string(),
      scheduledAt: z.string(),
      error: ErrorInfo.nullable(),
      /** Other Elmwood processes that have the data folder open now: the move waits until they quit. */
      blockedBy: z.array(z.string()),
    })
    .nullable(),
  /** This start moved the data folder: from where, to where. */
  dataMoved: z.object({ from: z.string(), to: z.string() }).nullable(),
});

/** What choosing a folder as the models folder would do. */
export const StoreDestination = z.object({
  path: z.string(),
  /** profile: back into the profile folder; store: it holds a store already (use it instead). */
  state: z.enum(["missing", "empty", "profile", "store", "other", "not-a-folder", "current"]),
  /** On the disk the store is on now (a move is then a rename); null when unknown. */
  sameDisk: z.boolean().nullable(),
  /** What a move would copy (0 on the same disk). */
  neededBytes: z.number(),
  freeBytes: z.number().nullable(),
  summary: z.string(),
});

export const StoreMoveEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("progress"),
    phase: z.enum(["checking", "copying", "verifying", "switching", "cleaning"]),
    doneBytes: z.number(),
    totalBytes: z.number(),
    file: z.string().optional(),
  }),
  z.object({
    type: z.literal("done"),
    /** rename: the same disk; copy: another disk; pointer: switched to the store already there. */
    method: z.enum(["rename", "copy", "pointer"]),
    bytes: z.number(),
    /** After "use the store there": the old store, left for the person to delete or keep. */
    leftBehind: z.string().nullable(),
    storage: StorageInfo,
  }),
  /** Nothing moved (CANCELLED after storage.cancelMove). */
  z.object({ type: z.literal("failed"), error: ErrorInfo }),
]);

// ---------------------------------------------------------------------------------------------------
// Stateless completions (for the OpenAI-compatible API: nothing is saved)

export const CompletionInput = z
  .strictObject({
    /** Default: the loaded model, else the default model. */
    model: ModelRef.optional(),
    /** A conversation, rendered with the model's chat template. */
    messages: z
      .array(z.strictObject({ role: Role, content: z.string().max(32_000) }))
      .min(1)
      .max(256)
      .optional(),
    /** Or plain text to continue as it is (after BOS), with no template: /v1/completions. */
    prompt: z.string().min(1).max(32_000).optional(),
    sampling: SamplingPatch.optional(),
    stop: z.array(z.string().min(1).max(64)).max(4).optional(),
  })
  .refine((input) => (input.messages === undefined) !== (input.prompt === undefined), {
    message: "give either messages or prompt, not both",
    path: ["messages"],
  });

export const Usage = z.object({
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  reusedTokens: z.number().int(),
});

// ---------------------------------------------------------------------------------------------------
// The calls

const call = <I extends z.ZodType, O extends z.ZodType>(input: I, output: O) => ({ input, output });

export const calls = {
  // Chat. Replies stream as chat.token and end with chat.done (saved) or chat.error.
  "chat.send": call(
    z.strictObject({
      /** Omit to start a new conversation. */
      conversationId: Id.optional(),
      content: MessageText,
      /** Reply under this message; default the active leaf. */
      parentId: Id.optional(),
      /** A new conversation starts with these; an existing one is updated first. */
      settings: ConversationSettingsPatch.optional(),
    }),
    ChatStarted,
  ),
  "chat.stop": call(
    z
      .strictObject({ requestId: Id.optional(), conversationId: Id.optional() })
      .refine((v) => v.requestId !== undefined || v.conversationId !== undefined, {
        message: "give requestId or conversationId",
        path: ["requestId"],
      }),
    z.object({ stopped: z.boolean() }),
  ),
  /**
   * The message being typed, so the model can read it ahead (while idle, local models only): the
   * reply to it then starts sooner. Best effort; `prepared` says whether the model took it.
   */
  "chat.prepare": call(
    z.strictObject({
      conversationId: Id,
      /** The draft as it stands; empty right after a reply (the conversation so far is read). */
      content: z.string().max(32_000),
      /** The message the draft would answer under; default the active leaf. */
      parentId: Id.optional(),
    }),
    z.object({ prepared: z.boolean() }),
  ),
  /** A new reply beside an assistant message; the old one stays as a sibling. */
  "chat.regenerate": call(z.strictObject({ conversationId: Id, messageId: Id }), ChatStarted),
  /** A new version of a user message (a sibling, the old branch kept) and a reply to it. */
  "chat.edit": call(z.strictObject({ conversationId: Id, messageId: Id, content: MessageText }), ChatStarted),
  /** Show the branch through this message (its latest descendants). */
  "chat.switchBranch": call(z.strictObject({ conversationId: Id, messageId: Id }), Conversation),

  "conversations.create": call(
    z.strictObject({ title: Title.optional(), settings: ConversationSettingsPatch.optional() }),
    Conversation,
  ),
  "conversations.list": call(
    z.strictObject({ limit: Limit(500, 100), offset: Offset }),
    z.object({ conversations: z.array(ConversationSummary), total: z.number().int() }),
  ),
  "conversations.get": call(z.strictObject({ id: Id }), Conversation),
  "conversations.rename": call(z.strictObject({ id: Id, title: Title }), ConversationSummary),
  "conversations.delete": call(z.strictObject({ id: Id }), z.object({ deleted: z.boolean() })),
  "conversations.search": call(
    z.strictObject({
      query: z.string().trim().min(1).max(500),
      limit: Limit(100, 20),
      /** The query is still being typed: its last word also matches as a prefix. */
      asYouType: z.boolean().optional(),
    }),
    z.object({ hits: z.array(ConversationHit) }),
  ),
  /** The branch on screen with its system prompt, settings and models, as Markdown or JSON. */
  "conversations.export": call(
    z.strictObject({ id: Id, format: ExportFormat.default("md") }),
    ConversationFile,
  ),
  /** A conversation exported as JSON, added as a new conversation (a bad or foreign file is refused). */
  "conversations.import": call(
    z.strictObject({ content: z.string().min(1).max(16_000_000) }),
    z.object({
      conversation: Conversation,
      /** What was changed to make it usable here (a model that is not installed, say). */
      notes: z.array(z.string()),
    }),
  ),
  "conversations.updateSettings": call(ConversationSettingsPatch.extend({ id: Id }), ConversationSettings),
  /**
   * Lets the conversation draw on a folder or a file: each later turn is given the passages of it
   * that best fit the question. One not yet indexed is added to the index first.
   */
  "conversations.attach": call(
    z.strictObject({ id: Id, path: FsPath }),
    z.object({ attachments: z.array(ConversationAttachment) }),
  ),
  "conversations.detach": call(
    z.strictObject({ id: Id, path: FsPath }),
    z.object({ attachments: z.array(ConversationAttachment) }),
  ),
  /** Leaves a passage a reply used out of the conversation's later turns. */
  "conversations.excludeSource": call(
    z.strictObject({ id: Id, messageId: Id, n: z.number().int().min(1).max(100) }),
    z.object({ sources: z.array(CitedChunk) }),
  ),

  "completions.create": call(CompletionInput, z.object({ requestId: Id, model: z.string() })),
  "completions.cancel": call(z.strictObject({ requestId: Id }), z.object({ cancelled: z.boolean() })),

  // Models. pull and import return a job id and report models.progress.
  "models.catalog": call(
    Empty,
    z.object({
      entries: z.array(CatalogItem),
      recommended: z.string(),
      /** The embedding model search by meaning runs on. */
      embedding: z.array(EmbeddingCatalogItem),
    }),
  ),
  "models.list": call(
    Empty,
    z.object({
      models: z.array(ModelInfo),
      broken: z.array(z.object({ name: z.string(), problem: z.string() })),
      downloads: z.array(DownloadInfo),
      /** The remote engines' models, as they were last listed. */
      remote: z.array(RemoteModelInfo),
      /** An installed model, or a remote one. */
      defaultModel: z.string().nullable(),
      /** Installed embedding models (search by meaning). */
      embedding: z.array(EmbeddingModelInfo),
    }),
  ),
  "models.pull": call(
    z.strictObject({
      /** "apple/OpenELM-270M-Instruct" or a catalog slug such as "openelm-270m-instruct". */
      repo: z.string().min(1).max(200),
      precision: Precision.optional(),
      name: ModelName.optional(),
      removeSource: z.boolean().optional(),
      force: z.boolean().optional(),
    }),
    JobStarted,
  ),
  /** Stops a pull, keeping what was downloaded; pulling again resumes. */
  "models.pause": call(
    z.strictObject({ repo: z.string().min(1).max(200) }),
    z.object({ paused: z.boolean() }),
  ),
  /** Stops a pull and deletes what it downloaded. */
  "models.cancel": call(z.strictObject({ repo: z.string().min(1).max(200) }), Empty),
  "models.import": call(
    z.strictObject({
      path: FsPath,
      name: ModelName.optional(),
      precision: Precision.optional(),
      force: z.boolean().optional(),
    }),
    JobStarted,
  ),
  "models.remove": call(
    z.strictObject({ name: ModelName, keepSource: z.boolean().optional() }),
    z.object({ name: z.string(), removedSourceBytes: z.number().nullable() }),
  ),
  /** Deletes the checkpoint Elmwood downloaded for a model, keeping the converted model. */
  "models.removeSource": call(
    z.strictObject({ name: ModelName }),
    z.object({ name: z.string(), removedSourceBytes: z.number() }),
  ),
  /** An installed model, or a remote engine's (`<engine>/<model>`). */
  "models.setDefault": call(z.strictObject({ name: ModelRef }), z.object({ defaultModel: z.string() })),
  /** Loads a model now (default: the default model) with a provider and thread count, remembered in settings. */
  "models.load": call(
    z.strictObject({
      name: ModelName.optional(),
      provider: ProviderChoice.optional(),
      threads: z.number().int().min(1).max(256).nullable().optional(),
    }),
    ModelStatus,
  ),
  "models.unload": call(Empty, ModelStatus),

  "status.get": call(Empty, Status),
  "settings.get": call(Empty, Settings),
  "settings.update": call(SettingsPatch, Settings),
  "api.get": call(Empty, ApiStatus),
  "api.update": call(ApiPatch, ApiStatus),
  "api.regenerateToken": call(Empty, ApiStatus),

  // Remote engines. Adding one checks it (GET /v1/models) and keeps its models; refresh lists them again.
  "engines.list": call(
    Empty,
    z.object({
      engines: z.array(EngineInfo),
      /** The engines file could not be read (it was set aside, and nothing else was lost). */
      problem: z.string().nullable(),
    }),
  ),
  "engines.add": call(EngineAdd, EngineInfo),
  "engines.update": call(EngineUpdate, EngineInfo),
  "engines.refresh": call(z.strictObject({ name: EngineName }), EngineInfo),
  /** Stops what its models are writing (keeping it), forgets its models and deletes its key. */
  "engines.remove": call(z.strictObject({ name: EngineName }), z.object({ removed: z.boolean() })),

  // Storage. A move reports storage.progress; nothing else may use the models until it ends.
  "storage.get": call(Empty, StorageInfo),
  "storage.inspect": call(z.strictObject({ path: FsPath }), StoreDestination),
  "storage.moveModels": call(
    z.strictObject({
      /** An absolute path. */
      path: FsPath,
      /** move: the models go there; use-existing: switch to the store already there, leaving this one. */
      mode: z.enum(["move", "use-existing"]).default("move"),
    }),
    JobStarted,
  ),
  /** Stops a move before it switches (afterwards it finishes: a rename and a pointer). */
  "storage.cancelMove": call(z.strictObject({ jobId: Id }), z.object({ cancelled: z.boolean() })),
  /**
   * The data folder (the profile) cannot move while Elmwood has its database open: this checks the
   * folder (new or empty, writable, room enough) and schedules the move for the next start.
   */
  "storage.scheduleDataMove": call(z.strictObject({ /** An absolute path. */ path: FsPath }), StorageInfo),
  /** Forgets a scheduled move of the data folder, or one that failed; storage.get's dataMove is then null. */
  "storage.cancelDataMove": call(Empty, StorageInfo),

  // Documents. Indexing reports documents.progress; summaries summary.progress; answers answer.progress.
  "documents.addFolder": call(z.strictObject({ path: FsPath }), FolderStatus),
  "documents.removeFolder": call(z.strictObject({ path: FsPath }), z.object({ removed: z.boolean() })),
  "documents.status": call(
    Empty,
    z.object({ folders: z.array(FolderStatus), indexing: z.boolean(), meaning: MeaningStatus }),
  ),
  "documents.search": call(
    z.strictObject({
      query: z.string().max(1000),
      limit: Limit(100, 10),
      offset: z.number().int().min(0).max(10_000).default(0),
      asYouType: z.boolean().optional(),
      ...SearchFilters,
    }),
    SearchResult,
  ),
  /** Opens an indexed file with the system's program, or shows it in its folder. */
  "documents.open": call(
    z.strictObject({
      path: FsPath,
      reveal: z.boolean().default(false),
      /** A PDF's page (from 1, as SearchHit.page) to open at, where the viewer can be told one. */
      page: z.number().int().min(1).max(100_000).optional(),
    }),
    z.object({
      opened: z.boolean(),
      /** For a PDF opened with a page: whether the viewer was told it (false: it opened at its start). */
      atPage: z.object({ page: z.number().int(), jumped: z.boolean() }).nullable(),
    }),
  ),
  /** Searches, then answers from the top results only, citing them. */
  "documents.ask": call(
    z.strictObject({
      question: z.string().trim().min(1).max(2000),
      /** The search to ground on; default the question. */
      query: z.string().trim().min(1).max(1000).optional(),
      limit: Limit(20, 8),
      ...SearchFilters,
    }),
    JobStarted,
  ),
  /** A file by path, or text (a document dropped into the browser, which has no path). */
  "documents.summarize": call(
    z
      .strictObject({
        path: FsPath.optional(),
        text: z.string().min(1).max(5_000_000).optional(),
        /** The name shown for `text`. */
        name: z.string().max(300).optional(),
        style: SummaryStyle.optional(),
      })
      .refine((v) => (v.path === undefined) !== (v.text === undefined), {
        message: "give exactly one of path or text",
        path: ["path"],
      }),
    JobStarted,
  ),
  "documents.cancel": call(z.strictObject({ jobId: Id }), z.object({ cancelled: z.boolean() })),
} as const satisfies Record<CallName, { input: z.ZodType; output: z.ZodType }>;

// ---------------------------------------------------------------------------------------------------
// The events

export const events = {
  "chat.token": z.object({
    requestId: Id,
    conversationId: Id,
    messageId: Id,
    /** Text made visible by this token (possibly ""). */
    delta: z.string(),
    /** Tokens generated so far. */
    tokens: z.number().int(),
  }),
  /**
   * The reply is saved (also after chat.stop: finishReason "cancelled", the text so far kept; and
   * when a model switch or unload cut it short: message.interruption says so).
   */
  "chat.done": z.object({ requestId: Id, conversationId: Id, message: Message }),
  /** Nothing was saved for this reply. */
  "chat.error": z.object({
    requestId: Id,
    conversationId: Id,
    messageId: Id.nullable(),
    error: ErrorInfo,
  }),
  "completion.token": z.object({ requestId: Id, delta: z.string() }),
  "completion.done": z.object({
    requestId: Id,
    text: z.string(),
    finishReason: FinishReason,
    usage: Usage,
  }),
  "completion.error": z.object({ requestId: Id, error: ErrorInfo }),
  "models.progress": z.object({
    jobId: Id,
    kind: z.enum(["pull", "import"]),
    /** The repository or folder being pulled or imported. */
    target: z.string(),
    progress: LibraryProgress,
  }),
  "documents.progress": IndexProgress,
  "summary.progress": z.object({
    jobId: Id,
    /** The file's path, or the name given with text. */
    source: z.string(),
    event: z.discriminatedUnion("type", [
      z.object({
        type: z.literal("progress"),
        stage: z.enum(["map", "reduce", "final"]),
        level: z.number().int(),
        part: z.number().int(),
        of: z.number().int(),
      }),
      z.object({ type: z.literal("text"), delta: z.string() }),
      z.object({ type: z.literal("done"), result: SummaryResult }),
      z.object({ type: z.literal("error"), error: ErrorInfo }),
    ]),
  }),
  "answer.progress": z.object({
    jobId: Id,
    question: z.string(),
    event: z.discriminatedUnion("type", [
      /** The search results the answer will be grounded on. */
      z.object({ type: z.literal("sources"), hits: z.array(SearchHit) }),
      z.object({ type: z.literal("text"), delta: z.string() }),
      z.object({ type: z.literal("done"), answer: GroundedAnswer }),
      z.object({ type: z.literal("error"), error: ErrorInfo }),
    ]),
  }),
  "storage.progress": z.object({ jobId: Id, target: z.string(), event: StoreMoveEvent }),
  "status.changed": Status,
  "api.changed": ApiStatus,
  "engines.changed": z.object({ engines: z.array(EngineInfo) }),
} as const satisfies Record<EventName, z.ZodType>;

// ---------------------------------------------------------------------------------------------------
// Types

export type Calls = typeof calls;
export type Events = typeof events;
/** What a caller sends (fields with defaults may be left out). */
export type CallInput<N extends CallName> = z.input<Calls[N]["input"]>;
/** The input after validation, defaults filled in: what the service receives. */
export type ValidInput<N extends CallName> = z.output<Calls[N]["input"]>;
export type CallOutput<N extends CallName> = z.output<Calls[N]["output"]>;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

/** The API every front door exposes: window.elmwood in the app, the HTTP client in browser mode. */
export interface ElmwoodApi {
  call<N extends CallName>(name: N, input: CallInput<N>): Promise<CallOutput<N>>;
  /** Returns a function that stops listening. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/**
 * A failed call as it crosses IPC or HTTP: `{ ok: false, error }`. Electron's ipcRenderer.invoke
 * keeps only an Error's message, so the main process answers with this envelope instead of throwing.
 */
export type CallResult<N extends CallName> =
  | { ok: true; value: CallOutput<N> }
  | { ok: false; error: ErrorInfo };

// Each schema above has a type of the same name: `Message` is both the schema and the type.
export type ErrorInfo = z.output<typeof ErrorInfo>;
export type ProviderChoice = z.output<typeof ProviderChoice>;
export type Precision = z.output<typeof Precision>;
export type FinishReason = z.output<typeof FinishReason>;
export type Role = z.output<typeof Role>;
export type SummaryStyle = z.output<typeof SummaryStyle>;
export type Sampling = z.output<typeof Sampling>;
export type MessageStats = z.output<typeof MessageStats>;
export type Interruption = z.output<typeof Interruption>;
export type Message = z.output<typeof Message>;
export type ConversationSettings = z.output<typeof ConversationSettings>;
export type ConversationSettingsPatch = z.output<typeof ConversationSettingsPatch>;
export type ConversationSummary = z.output<typeof ConversationSummary>;
export type Conversation = z.output<typeof Conversation>;
export type ChatStarted = z.output<typeof ChatStarted>;
export type ConversationHit = z.output<typeof ConversationHit>;
export type ExportFormat = z.output<typeof ExportFormat>;
export type ConversationFile = z.output<typeof ConversationFile>;
export type ModelInfo = z.output<typeof ModelInfo>;
export type CatalogItem = z.output<typeof CatalogItem>;
export type DownloadInfo = z.output<typeof DownloadInfo>;
export type ModelState = z.output<typeof ModelState>;
export type ModelStatus = z.output<typeof ModelStatus>;
export type LibraryProgress = z.output<typeof LibraryProgress>;
export type FolderStatus = z.output<typeof FolderStatus>;
export type IndexProgress = z.output<typeof IndexProgress>;
export type SearchHit = z.output<typeof SearchHit>;
export type SearchResult = z.output<typeof SearchResult>;
export type GroundedAnswer = z.output<typeof GroundedAnswer>;
export type SummaryResult = z.output<typeof SummaryResult>;
export type Settings = z.output<typeof Settings>;
export type SettingsPatch = z.output<typeof SettingsPatch>;
export type Status = z.output<typeof Status>;
export type CompletionInput = z.output<typeof CompletionInput>;
export type Usage = z.output<typeof Usage>;
export type ApiStatus = z.output<typeof ApiStatus>;
export type StorageInfo = z.output<typeof StorageInfo>;
export type StoreDestination = z.output<typeof StoreDestination>;
export type StoreMoveEvent = z.output<typeof StoreMoveEvent>;
export type MatchedBy = z.output<typeof MatchedBy>;
export type MeaningState = z.output<typeof MeaningState>;
export type MeaningStatus = z.output<typeof MeaningStatus>;
export type ConversationAttachment = z.output<typeof ConversationAttachment>;
export type CitedChunk = z.output<typeof CitedChunk>;
export type EmbeddingModelInfo = z.output<typeof EmbeddingModelInfo>;
export type EmbeddingCatalogItem = z.output<typeof EmbeddingCatalogItem>;
export type ApiPatch = z.output<typeof ApiPatch>;
export type RemoteModelInfo = z.output<typeof RemoteModelInfo>;
export type EngineInfo = z.output<typeof EngineInfo>;
export type EngineAdd = z.output<typeof EngineAdd>;
export type EngineUpdate = z.output<typeof EngineUpdate>;
export type RemoteUse = z.output<typeof RemoteUse>;
