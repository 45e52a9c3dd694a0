/**
 * The engine behind every front door. `call(name, input)` validates the input against the contract
 * and runs the call; `on(event, listener)` hears what long work reports. The service owns the model
 * library, the model in memory, the profile database (chats, settings, the document index) and the
 * document indexer. It knows nothing of Electron or HTTP.
 */
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { EMBEDDING_CATALOG, findEmbeddingEntry } from "../models/embedding-catalog.ts";
import type { InstalledEmbedding } from "../models/embedding-store.ts";
import { checkRepoId } from "../models/hub-client.ts";
import {
  assertFitsMode,
  CATALOG,
  type FreeSpaceProbe,
  findCatalogEntry,
  type HubClient,
  inspectDestination,
  ModelLibrary,
  type MoveStep,
  moveModelStore,
  recommendedModel,
  recoverModelStoreMove,
  type StoredModel,
} from "../models/index.ts";
import {
  type ApiStatus,
  type CallName,
  type CallOutput,
  type CitedChunk,
  CONTRACT_VERSION,
  type Conversation,
  type ElmwoodApi,
  type ErrorInfo,
  type EventName,
  type EventPayload,
  type MeaningStatus,
  type Message,
  type ModelStatus,
  type Status,
  type StorageInfo,
  type ValidInput,
} from "./api/contract.ts";
import { toErrorInfo, validateCall } from "./api/validate.ts";
import { ChatEngine, type ChatModels, toSamplingOptions } from "./chat/chat-engine.ts";
import { cutShort, interruption } from "./chat/interruption.ts";
import { newOwner, ownerGone } from "./chat/reply-owner.ts";
import { ConversationStore } from "./chat/store.ts";
import { exportConversation, importConversation } from "./chat/transfer.ts";
import type { Embedder } from "./documents/embedding/embedder.ts";
import { askAboutResults } from "./documents/grounded.ts";
import { hybridSearch } from "./documents/hybrid-search.ts";
import { IndexStore } from "./documents/index-store.ts";
import { DocumentIndexer, type IndexerOptions } from "./documents/indexer.ts";
import { type FileOpener, systemOpener } from "./documents/open-file.ts";
import { readDocument } from "./documents/read-document.ts";
import { summarizeSections } from "./documents/summarize.ts";
import type { Section } from "./documents/types.ts";
import { VectorIndexer } from "./documents/vector-indexer.ts";
import { ElmwoodError, isElmwoodError } from "./errors.ts";
import { ConversationGrounding } from "./grounding/ground-turn.ts";
import { GroundingStore } from "./grounding/store.ts";
import { type ElmwoodPaths, elmwoodPaths, locateProfile, type ProfileLocation } from "./paths.ts";
import { cancelDataMove, readDataMove, scheduleDataMove, startupDataMove } from "./profile/data-move.ts";
import { describeHolder, otherHolders } from "./profile/leases.ts";
import type { RetryPolicy } from "./remote/client.ts";
import type { EngineKeys } from "./remote/engine-keys.ts";
import { RemoteEngines, splitRemoteName } from "./remote/engines.ts";
import { groundingPassages } from "./service/ask-sources.ts";
import { attachPath } from "./service/attach.ts";
import { createCompletion } from "./service/completion.ts";
import { type AnyListener, ContractEvents, type Listener } from "./service/events.ts";
import type { Generator, PromptModel } from "./service/generation.ts";
import { Jobs } from "./service/jobs.ts";
import { localPromptModel } from "./service/local-model.ts";
import { MeaningModels } from "./service/meaning.ts";
import { ModelManager } from "./service/model-manager.ts";
import {
  toCatalogItem,
  toDownloadInfo,
  toEmbeddingCatalogItem,
  toEmbeddingInfo,
  toModelInfo,
} from "./service/wire.ts";
import {
  loadApiSettings,
  regenerateApiToken,
  resolveApiToken,
  updateApiSettings,
} from "./settings/api-settings.ts";
import { SettingsStore } from "./settings/store.ts";
import { type Db, openDatabase } from "./store/database.ts";
import { assertFits, measureContext } from "./text/context-budget.ts";
import { rememberingTokenizer } from "./text/remembering-tokenizer.ts";
import { llamaTokenizer } from "./text/tokenizer.ts";
import "./documents/schema.ts";

export interface ElmwoodServiceOptions {
  /** Default: elmwoodPaths() (ELMWOOD_HOME or the app-data folder). */
  paths?: ElmwoodPaths;
  /**
   * Where the profile was found (engine/paths.ts locateProfile): Settings can schedule a move of the
   * data folder only with it. Default: locateProfile(), unless `paths` is given (then the program
   * that started the service chose the folder, and it does not move). Tests pass a temp `base`.
   */
  profile?: ProfileLocation;
  /** The Hugging Face hub client (tests pass one pointed at a local fake hub). */
  hubClient?: HubClient;
  freeSpace?: FreeSpaceProbe;
  /** For the document indexer (tests pass an inline preparer); watching follows the setting. */
  indexer?: IndexerOptions;
  /** Generations that may wait behind the running one before BUSY. */
  maxQueue?: number;
  /** Opens files for documents.open (the desktop app passes Electron's shell). */
  opener?: FileOpener;
  /**
   * Where remote engines' API keys set through this service are kept: the desktop app passes its
   * safeStorage-backed store; otherwise a file in the profile readable by its owner only.
   */
  engineKeys?: EngineKeys;
  /** How a busy remote engine is asked again (tests shorten the waits). */
  remoteRetry?: RetryPolicy;
  /** Stands in for the embedding model (tests pass a deterministic one). */
  embedder?: Embedder;
  /** For tests of storage.moveModels: a step to hold the move at (a crash is simulated there). */
  storeMove?: {
    checkpoint?: (step: MoveStep) => Promise<void>;
    progressIntervalMs?: number;
    /** The device a path is on; tests play another disk with it. */
    deviceOf?: (path: string) => Promise<number>;
  };
}

/** Calls that read or change the models: refused while the model store is being moved. */
const NEEDS_MODEL_STORE = new Set<CallName>([
  "chat.send",
  "chat.prepare",
  "chat.regenerate",
  "chat.edit",
  "completions.create",
  "models.pull",
  "models.import",
  "models.remove",
  "models.removeSource",
  "models.setDefault",
  "models.load",
  "documents.summarize",
  "documents.ask",
  "storage.moveModels",
]);

/** Folders for the model store are named in full: relative to what, in a desktop app? */
function assertFullPath(path: string): void {
  if (!isAbsolute(path)) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `'${path}' is not a full path.`,
      "Give the folder's whole path, from the top.",
    );
  }
}

/** A move of the model store under way, with the models as they were when it began. */
interface StoreMove {
  jobId: string;
  to: string;
  before: {
    models: StoredModel[];
    defaultModel: string | null;
    downloads: CallOutput<"models.list">["downloads"];
    embeddings: InstalledEmbedding[];
  };
}

type Handlers = { [N in CallName]: (input: ValidInput<N>) => Promise<CallOutput<N>> | CallOutput<N> };

const INDEXING_STATES = new Set(["pending", "scanning", "indexing"]);

export class ElmwoodService implements ElmwoodApi {
  readonly paths: ElmwoodPaths;
  /** Null when the program that started the service chose its folder (it cannot move from Settings). */
  private readonly profile: ProfileLocation | null;
  readonly db: Db;
  readonly library: ModelLibrary;
  readonly settings: SettingsStore;
  readonly conversations: ConversationStore;
  readonly models: ModelManager;
  /** The OpenAI-compatible engines the person added; none until they add one. */
  readonly remote: RemoteEngines;
  private readonly chat: ChatEngine;
  /** The model a request that names none uses in this process (`elmwood serve --model <engine>/<model>`). */
  private preferred: string | null = null;
  private readonly events = new ContractEvents();
  private readonly jobs = new Jobs();
  /** Shared by every prompt this service renders; it remembers recent messages' encodings. */
  private readonly tokenizer = rememberingTokenizer(llamaTokenizer());
  private indexer: DocumentIndexer | undefined;
  private vectorIndexer: VectorIndexer | undefined;
  private readonly meaning: MeaningModels;
  private readonly grounding: GroundingStore;
  private statusQueued = false;
  private apiRevision = 0;
  private apiSettingsQueue: Promise<void> = Promise.resolve();
  /** Whether the local API is listening, as the front door running it last reported. */
  private apiRuntime: { running: boolean; baseUrl: string | null; error: string | null } = {
    running: false,
    baseUrl: null,
    error: null,
  };
  private closed = false;
  /** Who writes this service's replies in progress. */
  private readonly replyOwner = newOwner();
  /** A move of the model store that a crash interrupted is finished or undone before the store is used. */
  private readonly storeReady: Promise<void>;
  private storeProblem: ErrorInfo | null = null;
  /** The move running now, and what the models looked like when it began (shown meanwhile). */
  private storeMove: StoreMove | null = null;

  constructor(private readonly options: ElmwoodServiceOptions = {}) {
    this.profile = options.profile ?? (options.paths ? null : locateProfile());
    this.paths = options.paths ?? elmwoodPaths(this.profile?.home);
    this.storeReady = recoverModelStoreMove(this.paths).then(
      () => undefined,
      (error: unknown) => {
        this.storeProblem = toErrorInfo(error);
      },
    );
    this.db = openDatabase(this.paths.database);
    this.library = new ModelLibrary({
      paths: this.paths,
      hub: options.hubClient,
      freeSpace: options.freeSpace,
    });
    this.settings = new SettingsStore(this.db);
    this.conversations = new ConversationStore(this.db);
    this.meaning = new MeaningModels({ paths: this.paths, embedder: options.embedder });
    this.grounding = new GroundingStore(this.db);
    this.models = new ModelManager({
      library: this.library,
      paths: this.paths,
      loadSettings: () => this.settings.get(),
      onChange: () => this.queueStatus(),
      maxQueue: options.maxQueue,
    });
    this.remote = new RemoteEngines({
      paths: this.paths,
      keys: options.engineKeys,
      retry: options.remoteRetry,
      onChange: () => {
        this.queueStatus();
        this.remote.list().then(
          ({ engines }) => this.emit("engines.changed", { engines }),
          () => undefined,
        );
      },
      onActivity: () => this.queueStatus(),
    });
    const chatModels: ChatModels = {
      pick: (name) => this.pickModel(name),
      load: (name, signal) => this.generatorFor(name, signal),
      ready: (name) => (this.models.loaded?.name === name ? this.models.loaded.host : null),
    };
    this.chat = new ChatEngine(
      this.conversations,
      chatModels,
      (event, payload) => {
        if (event === "chat.done") {
          const done = payload as EventPayload<"chat.done">;
          this.events.emit("chat.done", { ...done, message: this.withSources(done.message) });
        } else this.events.emit(event, payload);
        if (event !== "chat.token") this.queueStatus();
      },
      () => this.settings.get(),
      {
        owner: this.replyOwner,
        grounding: new ConversationGrounding(this.grounding, async (question, scope, limit) =>
          groundingPassages(
            this.db,
            question,
            undefined,
            { folders: scope, limit },
            await this.meaningIndex(),
          ),
        ),
      },
    );
    this.recoverReplies();
  }

  /**
   * Replies that a process which died (killed, crashed, power lost) was writing come back as
   * messages marked interrupted, with what had been saved of them.
   */
  private recoverReplies(): void {
    try {
      this.conversations.recoverReplies((owner) => ownerGone(owner, this.replyOwner), interruption("crash"));
    } catch {
      // The profile is busy (another process holds the write lock): they are kept for the next start.
    }
  }

  /** Runs one contract call; the input is validated first (BAD_INPUT names the wrong field). */
  async call<N extends CallName>(name: N, input: unknown): Promise<CallOutput<N>> {
    const valid = validateCall(name, input);
    if (this.closed) throw new ElmwoodError("CANCELLED", "Elmwood is shutting down.", "Start it again.");
    await this.storeReady;
    if (this.storeMove && NEEDS_MODEL_STORE.has(name)) {
      throw new ElmwoodError(
        "BUSY",
        "Elmwood is moving the models folder.",
        "Wait for the move to finish (Settings shows how far it is), or cancel it there.",
      );
    }
    const handler = this.handlers[name] as (input: ValidInput<N>) => Promise<CallOutput<N>> | CallOutput<N>;
    try {
      return await handler(valid);
    } catch (error) {
      if (isElmwoodError(error)) throw error;
      const info = toErrorInfo(error);
      throw new ElmwoodError(info.code, info.message, info.hint, { cause: error });
    }
  }

  on<E extends EventName>(event: E, listener: Listener<E>): () => void {
    return this.events.on(event, listener);
  }

  /** Every event with its name, for doors that forward them all. */
  onAny(listener: AnyListener): () => void {
    return this.events.onAny(listener);
  }

  /**
   * Makes a converted model folder outside the store usable by name, in every call, for as long as
   * this service runs (`elmwood serve --model <folder>`); returns that name.
   */
  async attachModelFolder(folder: string): Promise<string> {
    const model = await this.library.attach(folder);
    this.queueStatus();
    return model.name;
  }

  /**
   * The model requests that name none use in this process, over the default model (`elmwood serve
   * --model`); checked to exist.
   */
  async preferModel(name: string): Promise<string> {
    await this.pickModel(name);
    this.preferred = name;
    this.queueStatus();
    return name;
  }

  /** Catches the document index up with the folders added before (the app calls this at start). */
  startIndexing(): void {
    this.documents().start();
    this.vectors().wake();
  }

  /** Stops replies and jobs (saving what was written), the indexer and the model; closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.storeReady;
    await this.chat.close();
    await this.jobs.close();
    await this.indexer?.close();
    await this.vectorIndexer?.close();
    await this.meaning.close();
    await this.models.close();
    await this.remote.close();
    this.events.clear();
    this.db.close();
  }

  async status(): Promise<Status> {
    const host = this.models.loaded?.host;
    const folders = new IndexStore(this.db).folders();
    return {
      contractVersion: CONTRACT_VERSION,
      model: this.storeMove ? this.statusWhileMoving() : await this.models.status(),
      generation: { running: host?.running ?? false, waiting: host?.waiting ?? 0 },
      documents: {
        folders: folders.length,
        indexing: folders.some((f) => INDEXING_STATES.has(f.state)),
        meaning: (({ state, embedded, total }) => ({ state, embedded, total }))(await this.meaningStatus()),
      },
      remote: { inUse: this.remote.inUse() },
      home: this.paths.home,
    };
  }

  /**
   * The front door that runs the local API (the desktop app, `elmwood serve`) reports whether it is
   * listening, so Settings shows the truth rather than the wish.
   */
  async reportApi(runtime: {
    running: boolean;
    baseUrl: string | null;
    error: string | null;
  }): Promise<void> {
    this.apiRuntime = runtime;
    this.apiRevision++;
    this.emit("api.changed", await this.apiStatus());
  }

  private async apiStatus(): Promise<ApiStatus> {
    const stored = await loadApiSettings(this.paths);
    const fromEnvironment = Boolean(process.env.ELMWOOD_API_TOKEN);
    return {
      ...stored,
      token: await resolveApiToken(this.paths),
      tokenFromEnvironment: fromEnvironment,
      ...this.apiRuntime,
      revision: this.apiRevision,
    };
  }

  /**
   * A pull or an import as a job: its progress goes out as models.progress events, ending with the
   * installed model or the failure, and the status is refreshed either way.
   */
  private libraryJob(
    kind: "pull" | "import",
    target: string,
    work: (
      signal: AbortSignal,
      onProgress: (progress: EventPayload<"models.progress">["progress"]) => void,
    ) => Promise<{ model: StoredModel }>,
  ): string {
    return this.jobs.start(kind, async (signal, id) => {
      const report = (progress: EventPayload<"models.progress">["progress"]) =>
        this.emit("models.progress", { jobId: id, kind, target, progress });
      try {
        const result = await work(signal, report);
        report({ type: "finished", model: toModelInfo(result.model) });
      } catch (error) {
        report({ type: "failed", error: toErrorInfo(error) });
      } finally {
        // The embedding model is read again from wherever the store now is.
        await this.meaningModelChanged();
        this.queueStatus();
      }
    });
  }

  /**
   * Changes to the API settings one at a time: each is a read-modify-write of api.json, and two
   * arriving together (a port typed, then the switch clicked) must not lose one of them.
   */
  private apiSettingsChange(change: () => Promise<void>): Promise<ApiStatus> {
    const next = this.apiSettingsQueue.then(change).then(() => this.apiChanged());
    this.apiSettingsQueue = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private async apiChanged(): Promise<ApiStatus> {
    // The running server (if any) has the old settings until the door applies the new ones.
    this.apiRuntime = { running: false, baseUrl: null, error: null };
    this.apiRevision++;
    const status = await this.apiStatus();
    this.emit("api.changed", status);
    return status;
  }

  private emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    if (!this.closed) this.events.emit(event, payload);
  }

  /** Coalesces a burst of changes into one status.changed. */
  private queueStatus(): void {
    if (this.statusQueued || this.closed) return;
    this.statusQueued = true;
    setImmediate(() => {
      this.statusQueued = false;
      if (this.closed) return;
      this.status().then(
        (status) => this.emit("status.changed", status),
        () => undefined,
      );
    });
  }

  private documents(): DocumentIndexer {
    if (!this.indexer) {
      const indexer = new DocumentIndexer(this.db, {
        watch: this.settings.get().watchFolders,
        ...this.options.indexer,
      });
      this.indexer = indexer;
      indexer.on((event) => {
        this.emit("documents.progress", event);
        if (event.type === "folder" || event.type === "idle") this.queueStatus();
        // Vectors follow the words: once the word index has caught up, the new chunks get theirs.
        if (event.type === "idle") this.vectors().wake();
      });
    }
    return this.indexer;
  }

  /**
   * The model `name` names (null: the preferred, else the default model), installed or remote, as
   * the features see it before it writes.
   */
  private async pickModel(name: string | null | undefined): Promise<PromptModel> {
    const chosen = name ?? this.preferred ?? (await this.remote.defaultModel());
    if (chosen && splitRemoteName(chosen)) return this.remote.pick(chosen);
    return localPromptModel(await this.models.pick(chosen), this.tokenizer);
  }

  /** The model ready to write: an installed one is loaded first (one at a time); a remote one is there. */
  private async generatorFor(name: string, signal: AbortSignal): Promise<Generator> {
    if (splitRemoteName(name)) return this.remote.generator(name);
    return (await this.models.ensure(name, { signal })).host;
  }

  /** The default model as a Completion, for summaries and answers. */
  private async documentCompletion(signal: AbortSignal) {
    const model = await this.pickModel(null);
    return createCompletion(model, await this.generatorFor(model.name, signal));
  }

  /**
   * The model used when none is named, as every door shows it (so "sent to" is said where it is
   * true): this process's preferred model, else a remote one chosen as default, else the library's.
   */
  private async defaultModelName(): Promise<string | null> {
    return this.preferred ?? (await this.remote.defaultModel()) ?? (await this.library.getDefault()) ?? null;
  }

  /** The background embedding of chunks (search by meaning), paused while the setting is off. */
  private vectors(): VectorIndexer {
    if (!this.vectorIndexer) {
      const vectors = new VectorIndexer(this.db, {
        // Not while the model store moves: its files are on their way elsewhere.
        openEmbedder: () => (this.storeMove ? Promise.resolve(undefined) : this.meaning.documentEmbedder()),
        wordIndexBusy: () => this.indexer?.busy ?? false,
        paused: !this.settings.get().meaningSearch,
      });
      this.vectorIndexer = vectors;
      vectors.on((event) => {
        this.emit("documents.progress", event);
        this.queueStatus();
      });
    }
    return this.vectorIndexer;
  }

  /** Where meaning search stands: no model, embedding, ready... (what search and status report). */
  private async meaningStatus(): Promise<MeaningStatus> {
    const status = this.vectors().status();
    if (status.state === "no-model" && (await this.meaning.available())) {
      return { ...status, state: this.vectors().paused ? "paused" : "waiting" };
    }
    if (status.state !== "no-model" && !(await this.meaning.available()))
      return { ...status, state: "no-model" };
    return status;
  }

  /** Vectors already made are searched even while embedding is paused (the setting only stops the work). */
  private async meaningIndex() {
    // While the model store moves, the embedding model's files are on their way: search goes by words.
    if (this.storeMove) return undefined;
    return this.meaning.meaningIndex(this.db);
  }

  /** A model was installed or removed: load the new one from now on, and embed with it. */
  private async meaningModelChanged(): Promise<void> {
    await this.vectors().reset();
    await this.meaning.reset();
    this.vectors().wake();
    this.queueStatus();
  }

  /** Assistant messages with the passages they were given (chat grounded in documents). */
  private withSources(message: Message): Message {
    if (message.role !== "assistant") return message;
    const sources = this.grounding
      .sourcesByMessage(message.conversationId, (id) => (id === message.id ? message.content : undefined))
      .get(message.id);
    return sources ? { ...message, sources } : message;
  }

  /** A conversation as doors show it: its messages with their passages, and what it draws on. */
  private grounded(conversation: Conversation): Conversation {
    const contents = new Map(conversation.messages.map((m) => [m.id, m.content]));
    const sources = this.grounding.sourcesByMessage(conversation.id, (id) => contents.get(id));
    return {
      ...conversation,
      messages: conversation.messages.map((m) => {
        const list = m.role === "assistant" ? sources.get(m.id) : undefined;
        return list ? { ...m, sources: list } : m;
      }),
      attachments: this.grounding.attachments(conversation.id),
    };
  }

  private sourcesOf(conversationId: string, messageId: string): CitedChunk[] {
    const message = this.conversations.wire(conversationId, messageId);
    return this.withSources(message).sources ?? [];
  }

  private async modelStatus(): Promise<ModelStatus> {
    return this.models.status();
  }

  /** During a move the store is in neither place for a moment: the models as they were, unloaded. */
  private statusWhileMoving(): ModelStatus {
    const { provider, threads } = this.settings.get();
    const before = this.storeMove?.before;
    return {
      state: before && before.models.length > 0 ? "unloaded" : "none",
      name: before?.defaultModel ?? null,
      provider: null,
      providerChoice: provider,
      threads,
      loadMs: null,
      contextLength: null,
      error: null,
    };
  }

  private async storageInfo(): Promise<StorageInfo> {
    const profile = this.profile;
    const scheduled = profile && !profile.fromEnvironment ? await readDataMove(profile.base) : null;
    const moved = startupDataMove();
    return {
      dataFolder: this.paths.home,
      dataFolderFromEnvironment: profile ? profile.fromEnvironment : Boolean(process.env.ELMWOOD_HOME),
      modelsFolder: this.paths.modelStore,
      modelsPath: this.paths.models,
      downloadsPath: this.paths.downloads,
      moving: this.storeMove ? { jobId: this.storeMove.jobId, to: this.storeMove.to } : null,
      problem: this.storeProblem,
      dataFolderMovable: profile !== null && !profile.fromEnvironment,
      dataFolderProblem: profile?.pointerProblem ?? null,
      dataMove: scheduled
        ? {
            state: scheduled.state,
            to: scheduled.to,
            scheduledAt: scheduled.scheduledAt,
            error: scheduled.error,
            blockedBy:
              scheduled.state === "scheduled" ? otherHolders(this.paths.home).map(describeHolder) : [],
          }
        : null,
      dataMoved:
        moved?.state === "moved" && moved.to === this.paths.home ? { from: moved.from, to: moved.to } : null,
    };
  }

  /** storage.scheduleDataMove: checked now, run at the next start (engine/profile/data-move.ts). */
  private async scheduleDataMove(path: string): Promise<StorageInfo> {
    assertFullPath(path);
    if (!this.profile) {
      throw new ElmwoodError(
        "BAD_INPUT",
        "The program that started this Elmwood chose its data folder.",
        "Move the folder yourself and start Elmwood with its new place.",
      );
    }
    if (this.storeMove) {
      throw new ElmwoodError(
        "BUSY",
        "The models folder is being moved.",
        "Wait for that move to finish, then move the data folder.",
      );
    }
    await scheduleDataMove(this.profile, this.paths, path, this.storeEnvironment());
    return this.storageInfo();
  }

  private storeEnvironment() {
    return { freeSpace: this.options.freeSpace, deviceOf: this.options.storeMove?.deviceOf };
  }

  /** BUSY, saying what, while anything uses the models (a move needs them all let go). */
  private assertStoreIdle(): void {
    if (this.storeMove) {
      throw new ElmwoodError(
        "BUSY",
        "The models folder is being moved already.",
        "Wait for that move to finish.",
      );
    }
    const use = this.modelStoreUse();
    if (use) {
      throw new ElmwoodError(
        "BUSY",
        `The models folder cannot move while ${use}.`,
        "Wait for it to finish, or stop it, then try again.",
      );
    }
  }

  /** What is using the models now, in words; null when nothing is. */
  private modelStoreUse(): string | null {
    if (this.chat.active > 0) return "a reply is being written";
    if (this.models.busy) return "a model is loading or writing a reply";
    if (this.jobs.count("pull") > 0) return "a model is downloading";
    if (this.jobs.count("import") > 0) return "a model is being imported";
    if (this.jobs.count("summary") > 0) return "a document is being summarized";
    if (this.jobs.count("answer") > 0 || this.jobs.count("completion") > 0) return "a reply is being written";
    return null;
  }

  /**
   * storage.moveModels: checks now what can be checked (so a bad folder is an answer, not an event),
   * unloads the model, then moves in a job that reports storage.progress.
   */
  private async startStoreMove(path: string, mode: "move" | "use-existing"): Promise<{ jobId: string }> {
    assertFullPath(path);
    if (this.storeProblem) {
      throw new ElmwoodError(this.storeProblem.code, this.storeProblem.message, this.storeProblem.hint);
    }
    this.assertStoreIdle();
    const destination = resolve(path);
    const report = await inspectDestination(this.paths, destination, this.storeEnvironment());
    assertFitsMode(report, mode);
    const [{ models }, defaultModel, downloads, embeddings] = await Promise.all([
      this.library.list(),
      this.library.getDefault(),
      this.library.listDownloads(),
      this.library.embeddings(),
    ]);
    // Checked again and claimed with no await between, so nothing can start in the gap.
    this.assertStoreIdle();
    const move: StoreMove = {
      jobId: "",
      to: destination,
      before: {
        models,
        defaultModel: defaultModel ?? null,
        downloads: downloads.map(toDownloadInfo),
        embeddings: embeddings.models,
      },
    };
    this.storeMove = move;
    try {
      // Files of a loaded model stay open (and on Windows cannot be renamed): it goes first.
      await this.models.unload();
      // So is the embedding model (search goes by words until the move ends; see meaningIndex).
      await this.vectors().reset();
      await this.meaning.reset();
    } catch (error) {
      this.storeMove = null;
      throw error;
    }
    move.jobId = this.jobs.start("storeMove", async (signal, id) => {
      const report = (event: EventPayload<"storage.progress">["event"]) =>
        this.emit("storage.progress", { jobId: id, target: destination, event });
      try {
        report({ type: "progress", phase: "checking", doneBytes: 0, totalBytes: 0 });
        const result = await moveModelStore(this.paths, destination, {
          mode,
          signal,
          ...this.storeEnvironment(),
          checkpoint: this.options.storeMove?.checkpoint,
          progressIntervalMs: this.options.storeMove?.progressIntervalMs,
          onProgress: (progress) => report({ type: "progress", ...progress }),
        });
        this.storeMove = null;
        report({ type: "done", ...result, storage: await this.storageInfo() });
      } catch (error) {
        this.storeMove = null;
        report({ type: "failed", error: toErrorInfo(error) });
      } finally {
        // The embedding model is read again from wherever the store now is.
        await this.meaningModelChanged();
        this.queueStatus();
      }
    });
    this.queueStatus();
    return { jobId: move.jobId };
  }

  /** A reply that started changes what the status shows (a model loading, a generation running). */
  private async started<T>(reply: Promise<T>): Promise<T> {
    const value = await reply;
    this.queueStatus();
    return value;
  }

  private readonly handlers: Handlers = {
    "chat.send": (input) => this.started(this.chat.send(input)),
    "chat.stop": (input) => ({ stopped: this.chat.stop(input) }),
    "chat.prepare": async (input) => ({
      prepared: this.settings.get().readAhead && (await this.chat.prepare(input)),
    }),
    "chat.regenerate": (input) => this.started(this.chat.regenerate(input.conversationId, input.messageId)),
    "chat.edit": (input) =>
      this.started(this.chat.edit(input.conversationId, input.messageId, input.content)),
    "chat.switchBranch": (input) => {
      this.conversations.switchTo(input.conversationId, input.messageId);
      return this.grounded(this.conversations.view(input.conversationId));
    },

    "conversations.create": (input) => this.grounded(this.chat.create(input.title, input.settings)),
    "conversations.list": (input) => this.conversations.list(input.limit, input.offset),
    "conversations.get": (input) => this.grounded(this.conversations.view(input.id)),
    "conversations.rename": (input) => this.conversations.rename(input.id, input.title),
    "conversations.delete": (input) => {
      this.chat.stop({ conversationId: input.id });
      return { deleted: this.conversations.delete(input.id) };
    },
    "conversations.search": (input) => ({
      hits: this.conversations.search(input.query, input.limit, { asYouType: input.asYouType }),
    }),
    "conversations.export": (input) => exportConversation(this.conversations.view(input.id), input.format),
    "conversations.import": async (input) => {
      const installed = new Set([
        ...(await this.library.list()).models.map((m) => m.name),
        ...(await this.remote.models()).map((m) => m.name),
      ]);
      const { conversationId, notes } = importConversation(this.conversations, input.content, (name) =>
        installed.has(name),
      );
      return { conversation: this.conversations.view(conversationId), notes };
    },
    "conversations.updateSettings": ({ id, ...patch }) => {
      const record = this.chat.updateSettings(id, patch);
      return { systemPrompt: record.systemPrompt, sampling: record.sampling, model: record.model };
    },
    "conversations.attach": async ({ id, path }) => {
      this.conversations.get(id); // NOT_FOUND for a conversation that is not there
      const { path: attached, kind } = await attachPath(this.documents(), path);
      this.grounding.attach(id, attached, kind);
      this.queueStatus();
      return { attachments: this.grounding.attachments(id) };
    },
    "conversations.detach": ({ id, path }) => {
      this.conversations.get(id);
      const known = this.grounding.attachments(id).find((a) => a.path === path || a.path === resolve(path));
      if (known) this.grounding.detach(id, known.path);
      return { attachments: this.grounding.attachments(id) };
    },
    "conversations.excludeSource": ({ id, messageId, n }) => {
      this.conversations.message(id, messageId);
      const source = this.grounding.source(messageId, n);
      if (!source) {
        throw new ElmwoodError(
          "NOT_FOUND",
          `That reply was given no passage [${n}].`,
          "Open the reply's sources to see the passages it used.",
        );
      }
      this.grounding.exclude(id, source.path, source.location);
      return { sources: this.sourcesOf(id, messageId) };
    },

    "completions.create": async (input) => {
      const model = await this.pickModel(input.model ?? this.preferred ?? this.models.loaded?.name ?? null);
      const sampling = { ...this.settings.get().sampling, ...input.sampling };
      // A raw prompt is continued as written (OpenAI's /v1/completions); messages get the template.
      const prepared =
        input.prompt !== undefined ? model.prepareText(input.prompt) : model.prepare(input.messages ?? []);
      assertFits(measureContext(prepared.tokens, sampling.maxTokens, model.contextLength));
      const requestId = this.jobs.start("completion", async (signal, id) => {
        try {
          const generator = await this.generatorFor(model.name, signal);
          const result = await generator.generate(
            {
              prompt: prepared.prompt,
              maxNewTokens: sampling.maxTokens,
              sampling: toSamplingOptions(sampling),
              stopStrings: [...prepared.stopStrings, ...(input.stop ?? [])],
            },
            {
              signal,
              onToken: (t) => t.text && this.emit("completion.token", { requestId: id, delta: t.text }),
            },
          );
          // Cut short by a model switch or a broken stream: an error, so an API client cannot take
          // it for a whole answer.
          if (result.interruption) throw cutShort(result.interruption, "completion");
          this.emit("completion.done", {
            requestId: id,
            text: result.text,
            finishReason: result.finishReason,
            usage: {
              promptTokens: result.promptTokens,
              completionTokens: result.completionTokens,
              reusedTokens: result.reusedTokens,
            },
          });
        } catch (error) {
          this.emit("completion.error", { requestId: id, error: toErrorInfo(error) });
        }
      });
      return { requestId, model: model.name };
    },
    "completions.cancel": (input) => ({ cancelled: this.jobs.cancel(input.requestId, ["completion"]) }),

    "models.catalog": async () => {
      const { models } = this.storeMove ? this.storeMove.before : await this.library.list();
      const embeddings = this.storeMove
        ? this.storeMove.before.embeddings
        : (await this.library.embeddings()).models;
      return {
        entries: CATALOG.map((entry) => toCatalogItem(entry, models)),
        recommended: recommendedModel().slug,
        embedding: EMBEDDING_CATALOG.map((entry) => toEmbeddingCatalogItem(entry, embeddings)),
      };
    },
    "models.list": async () => {
      if (this.storeMove) {
        const { models, defaultModel, downloads, embeddings } = this.storeMove.before;
        const embedding = embeddings.map(toEmbeddingInfo);
        return {
          models: models.map(toModelInfo),
          broken: [],
          downloads,
          remote: [],
          defaultModel,
          embedding,
        };
      }
      const { models, broken } = await this.library.list();
      // A remote default (or this process's preferred model) takes the library default's place.
      const defaultModel = await this.defaultModelName();
      return {
        models: models.map((m) => ({ ...toModelInfo(m), isDefault: m.name === defaultModel })),
        broken: broken.map(({ name, problem }) => ({ name, problem })),
        downloads: (await this.library.listDownloads()).map(toDownloadInfo),
        remote: (await this.remote.models()).map((m) => ({ ...m, isDefault: m.name === defaultModel })),
        defaultModel,
        embedding: (await this.library.embeddings()).models.map(toEmbeddingInfo),
      };
    },
    "models.pull": (input) => {
      const embedding = findEmbeddingEntry(input.repo);
      if (embedding) {
        const jobId = this.jobs.start("pull", async (signal, id) => {
          const report = (progress: EventPayload<"models.progress">["progress"]) =>
            this.emit("models.progress", { jobId: id, kind: "pull", target: input.repo, progress });
          try {
            const result = await this.library.pullEmbedding(embedding.repoId, {
              force: input.force,
              signal,
              onProgress: report,
            });
            await this.meaningModelChanged();
            report({ type: "finished-embedding", model: toEmbeddingInfo(result.model) });
          } catch (error) {
            report({ type: "failed", error: toErrorInfo(error) });
          } finally {
            this.queueStatus();
          }
        });
        return { jobId };
      }
      // A repository id that can never work is refused now, not in an event later.
      checkRepoId(findCatalogEntry(input.repo)?.repoId ?? input.repo);
      const jobId = this.libraryJob("pull", input.repo, async (signal, onProgress) =>
        this.library.pull(input.repo, {
          precision: input.precision,
          name: input.name,
          removeSource: input.removeSource,
          force: input.force,
          signal,
          onProgress,
        }),
      );
      return { jobId };
    },
    "models.pause": (input) => ({ paused: this.library.pause(input.repo) }),
    "models.cancel": async (input) => {
      await this.library.cancel(input.repo);
      return {};
    },
    "models.import": async (input) => {
      const folder = resolve(input.path);
      if (
        !(await stat(folder).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      ) {
        throw new ElmwoodError(
          "NOT_FOUND",
          `There is no folder at ${folder}.`,
          "Check the path and try again.",
        );
      }
      const jobId = this.libraryJob("import", folder, async (signal, onProgress) =>
        this.library.importFolder(folder, {
          name: input.name,
          precision: input.precision,
          force: input.force,
          signal,
          onProgress,
        }),
      );
      return { jobId };
    },
    "models.remove": async (input) => {
      if (await this.library.isEmbedding(input.name)) {
        await this.vectors().reset();
        await this.meaning.reset();
        await this.library.removeEmbedding(input.name);
        await this.meaningModelChanged();
        return { name: input.name, removedSourceBytes: null };
      }
      // Before unloading it: a folder served by path is the user's, and stays loaded and on disk.
      this.library.refuseAttached(input.name, "be removed");
      await this.models.release(input.name);
      const result = await this.library.remove(input.name, { keepSource: input.keepSource });
      this.queueStatus();
      return { name: result.name, removedSourceBytes: result.removedSource?.bytes ?? null };
    },
    "models.removeSource": async (input) => {
      const result = await this.library.removeSource(input.name);
      this.queueStatus();
      return { name: input.name, removedSourceBytes: result.bytes };
    },
    "models.setDefault": async (input) => {
      if (splitRemoteName(input.name)) {
        await this.remote.setDefault(input.name);
      } else {
        await this.library.setDefault(input.name);
        // An installed model chosen now replaces a remote default.
        if (await this.remote.defaultModel()) await this.remote.setDefault(null);
      }
      // The person's choice now, over the model `serve --model` preferred at start.
      this.preferred = null;
      this.queueStatus();
      return { defaultModel: input.name };
    },
    "models.load": async (input) => {
      // Asked for now: replies being written on the model it replaces stop, keeping what they wrote.
      await this.models.ensure(input.name ?? null, {
        provider: input.provider,
        threads: input.threads,
        takeOver: true,
      });
      // Remembered only once it worked, so a provider that cannot start is not tried at every chat.
      if (input.provider !== undefined || input.threads !== undefined) {
        // Only what was given: an absent provider must not overwrite the remembered one.
        this.settings.update({
          ...(input.provider !== undefined ? { provider: input.provider } : {}),
          ...(input.threads !== undefined ? { threads: input.threads } : {}),
        });
      }
      return this.modelStatus();
    },
    "models.unload": async () => {
      await this.models.unload();
      return this.modelStatus();
    },

    "status.get": () => this.status(),
    "settings.get": () => this.settings.get(),
    "settings.update": (input) => {
      const settings = this.settings.update(input);
      if (input.meaningSearch === false) this.vectors().pause();
      if (input.meaningSearch === true) this.vectors().resume();
      this.queueStatus();
      return settings;
    },

    "api.get": () => this.apiStatus(),
    "api.update": (input) =>
      this.apiSettingsChange(async () => {
        await updateApiSettings(input, this.paths);
      }),
    "api.regenerateToken": () =>
      this.apiSettingsChange(async () => {
        if (process.env.ELMWOOD_API_TOKEN) {
          throw new ElmwoodError(
            "BAD_INPUT",
            "The API token comes from ELMWOOD_API_TOKEN.",
            "Unset it to let Elmwood keep and regenerate its own token.",
          );
        }
        await regenerateApiToken(this.paths);
      }),

    "engines.list": () => this.remote.list(),
    "engines.add": (input) => this.remote.add(input),
    "engines.update": (input) => this.remote.update(input),
    "engines.refresh": (input) => this.remote.refresh(input.name),
    "engines.remove": async (input) => ({ removed: await this.remote.remove(input.name) }),

    "storage.get": () => this.storageInfo(),
    "storage.inspect": async ({ path }) => {
      assertFullPath(path);
      return inspectDestination(this.paths, path, this.storeEnvironment());
    },
    "storage.moveModels": ({ path, mode }) => this.startStoreMove(path, mode),
    "storage.cancelMove": ({ jobId }) => ({ cancelled: this.jobs.cancel(jobId, ["storeMove"]) }),
    "storage.scheduleDataMove": ({ path }) => this.scheduleDataMove(path),
    "storage.cancelDataMove": async () => {
      if (this.profile && !this.profile.fromEnvironment) await cancelDataMove(this.profile.base);
      return this.storageInfo();
    },

    "documents.addFolder": async (input) => {
      const indexer = this.documents();
      const { folder } = await indexer.addFolder(input.path);
      const status = indexer.status().find((f) => f.id === folder.id);
      if (!status) throw new ElmwoodError("INTERNAL", `The folder ${folder.path} was not recorded.`);
      this.queueStatus();
      return status;
    },
    "documents.removeFolder": async (input) => {
      const removed = await this.documents().removeFolder(input.path);
      this.queueStatus();
      return { removed };
    },
    "documents.status": async () => {
      const folders = new IndexStore(this.db).status();
      return {
        folders,
        indexing: folders.some((f) => INDEXING_STATES.has(f.state)),
        meaning: await this.meaningStatus(),
      };
    },
    "documents.search": async ({ query, ...options }) => {
      const result = await hybridSearch(this.db, query, options, await this.meaningIndex());
      return { ...result, meaning: await this.meaningStatus() };
    },
    "documents.open": async ({ path, reveal, page }) => {
      // Only files the index holds: a door must not become a way to launch anything on the machine.
      const file = new IndexStore(this.db).file(resolve(path));
      if (!file) {
        throw new ElmwoodError(
          "NOT_FOUND",
          `${path} is not in the search index.`,
          "Only files found by Search can be opened from it.",
        );
      }
      const opener = this.options.opener ?? systemOpener;
      if (reveal) {
        await opener.reveal(file.path);
        return { opened: true, atPage: null };
      }
      if (page === undefined || file.kind !== "pdf") {
        await opener.open(file.path);
        return { opened: true, atPage: null };
      }
      const jumped = opener.openPdfAtPage
        ? await opener.openPdfAtPage(file.path, page)
        : await opener.open(file.path).then(() => false);
      return { opened: true, atPage: { page, jumped } };
    },
    "documents.ask": (input) => {
      const { question, query, limit, folders, kinds, modifiedAfter, modifiedBefore } = input;
      const jobId = this.jobs.start("answer", async (signal, id) => {
        const report = (event: EventPayload<"answer.progress">["event"]) =>
          this.emit("answer.progress", { jobId: id, question, event });
        try {
          const hits = await groundingPassages(
            this.db,
            question,
            query,
            { limit, folders, kinds, modifiedAfter, modifiedBefore },
            await this.meaningIndex(),
          );
          report({ type: "sources", hits });
          const completion = await this.documentCompletion(signal);
          const answer = await askAboutResults(
            question,
            hits.map(({ path, location, text }) => ({ path, location, text })),
            completion,
            { signal, onText: (delta) => report({ type: "text", delta }) },
          );
          report({ type: "done", answer });
        } catch (error) {
          report({ type: "error", error: toErrorInfo(error) });
        }
      });
      return { jobId };
    },
    "documents.summarize": (input) => {
      const source = input.path ?? input.name ?? "dropped text";
      const style = input.style ?? this.settings.get().summaryStyle;
      const jobId = this.jobs.start("summary", async (signal, id) => {
        const report = (event: EventPayload<"summary.progress">["event"]) =>
          this.emit("summary.progress", { jobId: id, source, event });
        try {
          const sections: readonly Section[] =
            input.path !== undefined
              ? (await readDocument(input.path)).sections
              : [{ text: input.text ?? "", location: { label: "" } }];
          const completion = await this.documentCompletion(signal);
          const result = await summarizeSections(sections, completion, {
            style,
            signal,
            onEvent: (event) => report(event),
          });
          report({ type: "done", result });
        } catch (error) {
          report({ type: "error", error: toErrorInfo(error) });
        }
      });
      return { jobId };
    },
    "documents.cancel": (input) => ({ cancelled: this.jobs.cancel(input.jobId, ["summary", "answer"]) }),
  };
}
