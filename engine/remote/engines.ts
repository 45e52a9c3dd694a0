/**
 * The remote engines as the service knows them: adding one (checked with GET /v1/models before it is
 * kept), listing, refreshing and removing them, and each of their models as a PromptModel with a
 * Generator, so chat, completions, summaries and answers use a remote model exactly as they use an
 * installed one. Nothing here opens a connection until the person has added an engine: a client
 * exists only for an engine in engines.json, and only a call the person made (add, refresh, a reply)
 * uses it; Elmwood never contacts an engine in the background.
 */
import type { EngineAdd, EngineInfo, EngineUpdate, RemoteModelInfo, RemoteUse } from "../api/contract.ts";
import { RemoteModelName } from "../api/contract.ts";
import { toErrorInfo } from "../api/validate.ts";
import { interruption } from "../chat/interruption.ts";
import { ElmwoodError } from "../errors.ts";
import type { ElmwoodPaths } from "../paths.ts";
import type { Generator, PromptModel } from "../service/generation.ts";
import { TrackedHost } from "../service/tracked-host.ts";
import { type EngineAddress, parseEngineAddress, suggestEngineName } from "./address.ts";
import { type ListedModel, OpenAiClient, type RetryPolicy } from "./client.ts";
import { type EngineKeys, encryptedKeys, fileKeys } from "./engine-keys.ts";
import { type EngineRecord, EngineStore } from "./engine-store.ts";
import { RemoteGenerator, type RemoteModelRef, remotePromptModel } from "./remote-model.ts";

/** The window assumed for a model whose engine reports none and whose engine has none set. */
export const ASSUMED_CONTEXT = 4096;

export interface RemoteEnginesOptions {
  paths: Pick<ElmwoodPaths, "home">;
  /** Where keys set through this process are kept: the desktop app passes its encrypted store. */
  keys?: EngineKeys;
  retry?: RetryPolicy;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The engines or their models changed (added, refreshed, removed, key or window set). */
  onChange?: () => void;
  /** A remote generation started or ended. */
  onActivity?: () => void;
}

/** "gpu/meta-llama/Llama-3.1-8B" -> { engine: "gpu", id: "meta-llama/Llama-3.1-8B" }; null if not remote. */
export function splitRemoteName(name: string): { engine: string; id: string } | null {
  if (!RemoteModelName.safeParse(name).success) return null;
  const slash = name.indexOf("/");
  return { engine: name.slice(0, slash), id: name.slice(slash + 1) };
}

interface LiveEngine {
  baseUrl: string;
  client: OpenAiClient;
  /** By model id. */
  models: Map<string, TrackedHost>;
}

export class RemoteEngines {
  private readonly store: EngineStore;
  private readonly keys: EngineKeys;
  /** Keys the command line kept; the desktop app reads them too. */
  private readonly plainKeys: EngineKeys;
  /**
   * The keys the desktop app sealed, for deleting one only: a program without the keychain cannot
   * read them, but removing an engine (or replacing its key) must not leave its sealed key behind.
   */
  private readonly sealedKeys: EngineKeys;
  private readonly live = new Map<string, LiveEngine>();
  private closed = false;

  constructor(private readonly options: RemoteEnginesOptions) {
    this.store = new EngineStore(options.paths);
    this.plainKeys = fileKeys(options.paths);
    this.keys = options.keys ?? this.plainKeys;
    this.sealedKeys =
      this.keys.storage === "encrypted"
        ? this.keys
        : encryptedKeys(options.paths, {
            encrypt: () => {
              throw new Error("no keychain here");
            },
            decrypt: () => {
              throw new Error("no keychain here");
            },
          });
  }

  async list(): Promise<{ engines: EngineInfo[]; problem: string | null }> {
    const file = await this.store.read();
    return { engines: file.engines.map((r) => this.info(r, file.defaultModel)), problem: this.store.problem };
  }

  async models(): Promise<RemoteModelInfo[]> {
    return (await this.list()).engines.flatMap((e) => e.models);
  }

  async add(input: EngineAdd): Promise<EngineInfo> {
    const address = parseEngineAddress(input.baseUrl);
    if (address.unencrypted && !input.allowUnencrypted) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `${address.baseUrl} is plain http to another machine: what you send it (messages, documents, replies) and its API key would cross the network unencrypted.`,
        "Use an https:// address if the engine has one; if this network is private and you accept that, confirm it (elmwood engines add … --allow-unencrypted).",
      );
    }
    const before = await this.store.read();
    const name = input.name ?? suggestEngineName(address, new Set(before.engines.map((e) => e.name)));
    this.refuseDuplicate(before.engines, name, address);
    // Checked before anything is kept: an address that is not an engine never becomes one.
    const checker = this.client(name, address, async () => input.apiKey ?? null);
    let listed: ListedModel[];
    try {
      listed = await checker.listModels();
    } finally {
      checker.close();
    }
    if (input.apiKey) await this.keys.set(name, input.apiKey);
    try {
      const record = await this.store.change((file) => {
        this.refuseDuplicate(file.engines, name, address);
        const added: EngineRecord = {
          name,
          baseUrl: address.baseUrl,
          addedAt: Date.now(),
          contextLength: input.contextLength ?? null,
          keyStorage: input.apiKey ? this.keys.storage : null,
          models: listed,
          checkedAt: Date.now(),
          error: null,
        };
        file.engines.push(added);
        return { added, defaultModel: file.defaultModel };
      });
      this.options.onChange?.();
      return this.info(record.added, record.defaultModel);
    } catch (error) {
      if (input.apiKey) await this.keys.delete(name).catch(() => undefined);
      throw error;
    }
  }

  async update(input: EngineUpdate): Promise<EngineInfo> {
    const { name } = input;
    await this.record(name);
    if (input.apiKey) await this.keys.set(name, input.apiKey);
    const result = await this.store.change(async (file) => {
      const record = file.engines.find((e) => e.name === name);
      if (!record) throw this.noEngine(name);
      if (input.apiKey !== undefined) {
        // The key lives in one store only; the other copy (if any) goes.
        const old = record.keyStorage;
        record.keyStorage = input.apiKey === null ? null : this.keys.storage;
        if (old && (input.apiKey === null || old !== this.keys.storage)) await this.storeOf(old).delete(name);
      }
      if (input.contextLength !== undefined) record.contextLength = input.contextLength;
      return { record, defaultModel: file.defaultModel };
    });
    this.options.onChange?.();
    return this.info(result.record, result.defaultModel);
  }

  /** Lists the engine's models again; a failure is kept with the engine (and thrown) so the list says so. */
  async refresh(name: string): Promise<EngineInfo> {
    const record = await this.record(name);
    const live = this.connect(record);
    let listed: ListedModel[] | undefined;
    let failure: unknown;
    try {
      listed = await live.client.listModels();
    } catch (error) {
      failure = error;
    }
    const result = await this.store.change((file) => {
      const stored = file.engines.find((e) => e.name === name);
      if (!stored) throw this.noEngine(name);
      if (listed) {
        stored.models = listed;
        stored.checkedAt = Date.now();
        stored.error = null;
      } else {
        stored.error = toErrorInfo(failure);
      }
      return { record: stored, defaultModel: file.defaultModel };
    });
    this.options.onChange?.();
    if (failure) throw failure;
    return this.info(result.record, result.defaultModel);
  }

  /** Stops what its models are writing (they keep it, marked), closes its connections, deletes its key. */
  async remove(name: string): Promise<boolean> {
    const removed = await this.store.change((file) => {
      const index = file.engines.findIndex((e) => e.name === name);
      if (index < 0) return null;
      const [record] = file.engines.splice(index, 1);
      if (file.defaultModel && splitRemoteName(file.defaultModel)?.engine === name) file.defaultModel = null;
      return record;
    });
    if (!removed) return false;
    await this.disconnect(name, interruption("engine-removed", name));
    for (const keys of new Set([this.keys, this.plainKeys, this.sealedKeys])) {
      await keys.delete(name).catch(() => undefined);
    }
    this.options.onChange?.();
    return true;
  }

  /** The remote model chosen as the default, while its engine is still there. */
  async defaultModel(): Promise<string | null> {
    const file = await this.store.read();
    const chosen = file.defaultModel;
    if (!chosen) return null;
    const engine = splitRemoteName(chosen)?.engine;
    return file.engines.some((e) => e.name === engine) ? chosen : null;
  }

  /** A remote model as the default (checked to exist), or null to leave the default to the library. */
  async setDefault(name: string | null): Promise<void> {
    if (name !== null) await this.pick(name);
    await this.store.change((file) => {
      file.defaultModel = name;
    });
    this.options.onChange?.();
  }

  /** The model named `<engine>/<id>`, as its engine last listed it. */
  async pick(name: string): Promise<PromptModel> {
    return remotePromptModel(await this.reference(name));
  }

  /** The model ready to write (nothing to load: the engine has it). */
  async generator(name: string): Promise<Generator> {
    if (this.closed) throw new ElmwoodError("CANCELLED", "Elmwood is shutting down.");
    const ref = await this.reference(name);
    const live = this.connect(await this.record(ref.engine));
    let tracked = live.models.get(ref.id);
    if (!tracked) {
      tracked = new TrackedHost(new RemoteGenerator(live.client, ref, () => this.options.onActivity?.()));
      live.models.set(ref.id, tracked);
    }
    return tracked;
  }

  /** Remote models writing now, and where their text goes. */
  inUse(): RemoteUse[] {
    const uses: RemoteUse[] = [];
    for (const [engine, live] of this.live) {
      const host = new URL(live.baseUrl).host;
      for (const [id, tracked] of live.models) {
        if (tracked.inUse > 0) uses.push({ model: `${engine}/${id}`, host });
      }
    }
    return uses;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.live.keys()].map((name) => this.disconnect(name, interruption("quit"))));
  }

  private async reference(name: string): Promise<RemoteModelRef> {
    const parts = splitRemoteName(name);
    if (!parts) {
      throw new ElmwoodError(
        "NOT_FOUND",
        `'${name.slice(0, 240)}' is not a remote model's name.`,
        "Remote models are named <engine>/<model>, as Settings → Engines lists them.",
      );
    }
    const record = await this.record(parts.engine, name);
    const model = record.models.find((m) => m.id === parts.id);
    if (!model) {
      throw new ElmwoodError(
        "NOT_FOUND",
        `'${parts.id}' is not among the models of '${record.name}' (as last listed).`,
        `Refresh its models in Settings → Engines (elmwood engines refresh ${record.name}), or pick another model.`,
      );
    }
    return {
      name,
      id: model.id,
      engine: record.name,
      host: new URL(record.baseUrl).host,
      contextLength: model.contextLength ?? record.contextLength ?? ASSUMED_CONTEXT,
    };
  }

  private async record(name: string, model?: string): Promise<EngineRecord> {
    const record = (await this.store.read()).engines.find((e) => e.name === name);
    if (!record) throw this.noEngine(name, model);
    return record;
  }

  private noEngine(name: string, model?: string): ElmwoodError {
    return new ElmwoodError(
      "NOT_FOUND",
      `There is no engine named '${name}'${model ? ` (for the model '${model.slice(0, 240)}')` : ""}.`,
      `Add it in Settings → Engines (elmwood engines add <base-url> --name ${name}), or pick another model.`,
    );
  }

  private refuseDuplicate(engines: readonly EngineRecord[], name: string, address: EngineAddress): void {
    if (engines.some((e) => e.name === name)) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `There is already an engine named '${name}'.`,
        "Give this one another name, or remove the other first.",
      );
    }
    const same = engines.find((e) => e.baseUrl === address.baseUrl);
    if (same) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `${address.baseUrl} is already added, as '${same.name}'.`,
        `Refresh its models instead (elmwood engines refresh ${same.name}).`,
      );
    }
  }

  /** Where a key of this storage is kept (to delete it; reading a sealed one needs the keychain). */
  private storeOf(storage: "encrypted" | "file"): EngineKeys {
    return storage === "file" ? this.plainKeys : this.sealedKeys;
  }

  /** The store a key of this storage can be read from here, if any. */
  private keysIn(storage: EngineRecord["keyStorage"]): EngineKeys | undefined {
    if (storage === this.keys.storage) return this.keys;
    if (storage === "file") return this.plainKeys;
    return undefined;
  }

  private async keyFor(record: EngineRecord): Promise<string | null> {
    if (record.keyStorage === null) return null;
    const keys = this.keysIn(record.keyStorage);
    if (!keys) {
      throw new ElmwoodError(
        "NETWORK",
        `The API key of '${record.name}' is kept in the desktop app's encrypted storage, which only the app can read.`,
        `Use this engine from the app, or give this program a key of its own: elmwood engines key ${record.name} --api-key-env VAR.`,
      );
    }
    const key = await keys.get(record.name);
    if (key === null) {
      throw new ElmwoodError(
        "NETWORK",
        `The API key of '${record.name}' is missing from its store.`,
        `Set it again in Settings → Engines (or elmwood engines key ${record.name} --api-key-env VAR).`,
      );
    }
    return key;
  }

  private client(name: string, address: EngineAddress, apiKey: () => Promise<string | null>): OpenAiClient {
    return new OpenAiClient({
      engine: name,
      host: address.host,
      baseUrl: address.baseUrl,
      apiKey,
      retry: this.options.retry,
      sleep: this.options.sleep,
    });
  }

  /** The engine's connection, made on first use; its key is read at each request. */
  private connect(record: EngineRecord): LiveEngine {
    const existing = this.live.get(record.name);
    if (existing && existing.baseUrl === record.baseUrl) return existing;
    // The engine was removed and added again at another address (by another Elmwood process): the
    // old address's replies stop and its connections close.
    if (existing) void this.disconnect(record.name, interruption("engine-removed", record.name));
    const address = parseEngineAddress(record.baseUrl);
    const name = record.name;
    const live: LiveEngine = {
      baseUrl: record.baseUrl,
      client: this.client(name, address, async () => this.keyFor(await this.record(name))),
      models: new Map(),
    };
    this.live.set(name, live);
    return live;
  }

  private async disconnect(name: string, reason: ReturnType<typeof interruption>): Promise<void> {
    const live = this.live.get(name);
    if (!live) return;
    this.live.delete(name);
    await Promise.all([...live.models.values()].map((m) => m.retire(reason, { stop: true })));
    live.client.close();
  }

  private info(record: EngineRecord, defaultModel: string | null): EngineInfo {
    const address = parseEngineAddress(record.baseUrl);
    const models: RemoteModelInfo[] = [];
    for (const model of record.models) {
      const name = `${record.name}/${model.id}`;
      // An id Elmwood could not name (spaces, over 200 characters) is left out of the list.
      if (!RemoteModelName.safeParse(name).success) continue;
      models.push({
        name,
        id: model.id,
        engine: record.name,
        host: address.host,
        contextLength: model.contextLength ?? record.contextLength ?? ASSUMED_CONTEXT,
        contextSource: model.contextLength ? "engine" : record.contextLength ? "settings" : "assumed",
        isDefault: defaultModel === name,
      });
    }
    return {
      name: record.name,
      baseUrl: record.baseUrl,
      host: address.host,
      unencrypted: address.unencrypted,
      hasKey: record.keyStorage !== null,
      keyStorage: record.keyStorage,
      contextLength: record.contextLength,
      models,
      addedAt: record.addedAt,
      checkedAt: record.checkedAt,
      error: record.error,
    };
  }
}
