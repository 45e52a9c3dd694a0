/**
 * Which model is in memory. Loads lazily (the first chat loads the default model), one model at a
 * time, with the provider and thread count from the settings, and keeps what a status bar needs to
 * say: the state, the provider actually running and why it was chosen, the last load's failure.
 *
 * A model in use is never closed under a generation. When a reply needs another model, the switch
 * waits for the generations in progress to finish. When the person takes the model away (loads
 * another one or the same on another device, unloads or removes it), replies in progress stop at
 * once, keeping what they wrote, and say why (tracked-host.ts): waiting could take minutes for a
 * long reply, and the person asked for the switch now.
 */
import { basename, join } from "node:path";
import type { ModelLibrary, StoredModel } from "../../models/index.ts";
import type { ErrorInfo, Interruption, ModelStatus, ProviderChoice } from "../api/contract.ts";
import { toErrorInfo } from "../api/validate.ts";
import { interruption } from "../chat/interruption.ts";
import { cancelled, ElmwoodError } from "../errors.ts";
import type { ElmwoodPaths } from "../paths.ts";
import { type LoadedInfo, ModelHost } from "../runtime/model-host.ts";
import { type ChatTemplate, chatTemplateFor } from "../text/chat-template.ts";
import { localBackend } from "./local-model.ts";
import { TrackedHost } from "./tracked-host.ts";

export interface ModelChoice {
  name: string;
  dir: string;
  contextLength: number;
  template: ChatTemplate;
}

export interface LoadedModel extends ModelChoice {
  host: TrackedHost;
  /** The provider running it and how long it took to load. */
  info: LoadedInfo;
  provider: ProviderChoice;
  threads: number | null;
}

export interface ModelManagerOptions {
  library: ModelLibrary;
  paths: ElmwoodPaths;
  /** The remembered provider choice and thread count (settings). */
  loadSettings: () => { provider: ProviderChoice; threads: number | null };
  /** Called whenever the state shown in the status changes. */
  onChange: () => void;
  maxQueue?: number;
}

/** Instruct models talk in turns; base models only continue text. Imported folders keep their origin. */
function templateFor(model: StoredModel): ChatTemplate {
  return chatTemplateFor([model.name, model.source.repoId ?? "", basename(model.source.path)].join(" "));
}

/** Resolves when `promise` does, or rejects with CANCELLED as soon as `signal` fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(cancelled(what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled(what));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export class ModelManager {
  private current: LoadedModel | undefined;
  private loading: { name: string; promise: Promise<LoadedModel> } | undefined;
  private lastError: ErrorInfo | null = null;
  private lastName: string | null = null;
  /** Counts loads, so a load that another one superseded closes its own model. */
  private loads = 0;
  private closed = false;

  constructor(private readonly options: ModelManagerOptions) {}

  get loaded(): LoadedModel | undefined {
    return this.current;
  }

  /** Whether the model is being read, or is generating or has requests waiting. */
  get busy(): boolean {
    const host = this.current?.host;
    return this.loading !== undefined || (host !== undefined && (host.running || host.waiting > 0));
  }

  /** The installed model to use for `name` (null: the default), without loading it. */
  async pick(name: string | null | undefined): Promise<ModelChoice> {
    const { library } = this.options;
    let chosen = name ?? undefined;
    if (!chosen) {
      chosen = (await library.getDefault()) ?? undefined;
      if (!chosen) {
        const { models } = await library.list();
        throw models.length === 0
          ? new ElmwoodError(
              "NOT_FOUND",
              "No model is installed yet.",
              "Download one on the Models page (OpenELM-270M-Instruct is small and quick), or run 'elmwood models pull'.",
            )
          : new ElmwoodError(
              "NOT_FOUND",
              "No default model is chosen.",
              `Choose one on the Models page (installed: ${models.map((m) => m.name).join(", ")}).`,
            );
      }
    }
    const model = await library.inspect(chosen).catch((error: unknown) => {
      throw error instanceof ElmwoodError && error.code === "NOT_FOUND"
        ? new ElmwoodError(
            "NOT_FOUND",
            `The model '${chosen}' is not installed.`,
            "Pick an installed model in the chat settings, or download it on the Models page.",
          )
        : error;
    });
    return {
      name: model.name,
      dir: model.dir,
      contextLength: model.contextLength,
      template: templateFor(model),
    };
  }

  /**
   * The loaded model for `name` (null: the default), loading it first if needed. `reload` loads it
   * again even when it is in memory. An abort stops the wait, not a load other callers may be
   * waiting for. `takeOver`: the person asked for this model now, so generations on the model it
   * replaces are stopped rather than waited for.
   */
  async ensure(
    name: string | null | undefined,
    options: {
      signal?: AbortSignal;
      reload?: boolean;
      /** In place of the remembered provider and thread count. */
      provider?: ProviderChoice;
      threads?: number | null;
      takeOver?: boolean;
    } = {},
  ): Promise<LoadedModel> {
    if (this.closed) throw new ElmwoodError("CANCELLED", "Elmwood is shutting down.");
    const choice = await this.pick(name);
    const remembered = this.options.loadSettings();
    const settings = {
      provider: options.provider ?? remembered.provider,
      threads: options.threads === undefined ? remembered.threads : options.threads,
    };
    const current = this.current;
    if (
      current?.name === choice.name &&
      !options.reload &&
      current.provider === settings.provider &&
      current.threads === settings.threads
    ) {
      return current;
    }
    if (this.loading?.name === choice.name && !options.reload) {
      return untilAborted(this.loading.promise, options.signal, "Loading the model");
    }
    const reason =
      current?.name === choice.name
        ? interruption("model-reloaded")
        : interruption("model-switched", choice.name);
    const promise = this.load(choice, settings, { reason, stop: options.takeOver === true });
    this.loading = { name: choice.name, promise };
    promise.then(
      () => undefined,
      () => undefined,
    );
    return untilAborted(promise, options.signal, "Loading the model");
  }

  private async load(
    choice: ModelChoice,
    settings: { provider: ProviderChoice; threads: number | null },
    replacing: { reason: Interruption; stop: boolean },
  ): Promise<LoadedModel> {
    const ticket = ++this.loads;
    const previous = this.current;
    // Waiting for the old model's replies to finish, it keeps serving the requests that want it.
    if (replacing.stop) this.current = undefined;
    this.lastName = choice.name;
    this.lastError = null;
    this.options.onChange();
    try {
      // One model in memory at a time: the old one goes before the new one is read.
      await previous?.host.retire(replacing.reason, { stop: replacing.stop });
      if (this.current === previous) this.current = undefined;
      const modelHost = await ModelHost.start(choice.dir, {
        provider: settings.provider,
        threads: settings.threads ?? undefined,
        maxQueue: this.options.maxQueue,
        choicesFile: join(this.options.paths.cache, "provider-choices.json"),
      });
      const host = new TrackedHost(localBackend(modelHost));
      if (this.closed) {
        await host.retire(interruption("quit"), { stop: true });
        throw new ElmwoodError("CANCELLED", "Elmwood is shutting down.");
      }
      const loaded: LoadedModel = {
        ...choice,
        host,
        info: modelHost.info,
        provider: settings.provider,
        threads: settings.threads,
      };
      if (ticket === this.loads) this.current = loaded;
      // Superseded by a load of another model meanwhile: nothing has had a chance to use this one.
      else await host.retire(interruption("model-switched"), { stop: true });
      return loaded;
    } catch (error) {
      this.lastError = toErrorInfo(error);
      throw error instanceof ElmwoodError && error.code !== "INTERNAL"
        ? error
        : new ElmwoodError(
            "MODEL",
            `The model '${choice.name}' could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
            "Try the CPU provider in Settings, or remove the model and download it again.",
            { cause: error },
          );
    } finally {
      if (ticket === this.loads) this.loading = undefined;
      this.options.onChange();
    }
  }

  /** Takes the model out of memory; replies being written on it stop, keeping what they wrote. */
  async unload(reason: Interruption = interruption("model-unloaded")): Promise<void> {
    // A load still under way is superseded: it closes its model when it finishes.
    this.loads++;
    this.loading = undefined;
    const current = this.current;
    this.current = undefined;
    this.lastName = null;
    this.lastError = null;
    if (current) {
      await current.host.retire(reason, { stop: true });
      this.options.onChange();
    }
  }

  /** Unloads if `name` is the model in memory (before it is removed from disk). */
  async release(name: string): Promise<void> {
    if (this.current?.name === name) await this.unload(interruption("model-removed", name));
  }

  async status(): Promise<ModelStatus> {
    const settings = this.options.loadSettings();
    const base = {
      providerChoice: settings.provider,
      threads: settings.threads,
    };
    const current = this.current;
    if (current) {
      const { provider, loadMs } = current.info;
      return {
        ...base,
        state: "ready",
        name: current.name,
        provider: { name: provider.name, label: provider.label, reason: provider.reason },
        threads: current.threads,
        providerChoice: current.provider,
        loadMs,
        contextLength: current.contextLength,
        error: null,
      };
    }
    const idle = { provider: null, loadMs: null, contextLength: null };
    if (this.loading) return { ...base, ...idle, state: "loading", name: this.loading.name, error: null };
    if (this.lastError)
      return { ...base, ...idle, state: "error", name: this.lastName, error: this.lastError };
    const { models } = await this.options.library.list();
    if (models.length === 0) return { ...base, ...idle, state: "none", name: null, error: null };
    const name = (await this.options.library.getDefault()) ?? null;
    return { ...base, ...idle, state: "unloaded", name, error: null };
  }

  async close(): Promise<void> {
    this.closed = true;
    const loading = this.loading?.promise.catch(() => undefined);
    await this.current?.host.retire(interruption("quit"), { stop: true });
    this.current = undefined;
    const late = await loading;
    await late?.host.retire(interruption("quit"), { stop: true });
  }
}
