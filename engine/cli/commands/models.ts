import { parseArgs } from "node:util";
import { CATALOG, estimate, formatBytes, recommendedModel } from "../../../models/catalog.ts";
import {
  EMBEDDING_CATALOG,
  embeddingDownloadBytes,
  findEmbeddingEntry,
} from "../../../models/embedding-catalog.ts";
import type { InstalledEmbedding } from "../../../models/embedding-store.ts";
import { ModelLibrary } from "../../../models/library.ts";
import type { LibraryProgress } from "../../../models/progress.ts";
import type { StoredModel } from "../../../models/store.ts";
import { recoverModelStoreMove } from "../../../models/store-move.ts";
import { ElmwoodError, isElmwoodError } from "../../errors.ts";
import type { Precision } from "../../openelm/graph.ts";
import { elmwoodPaths } from "../../paths.ts";
import { RemoteEngines, splitRemoteName } from "../../remote/engines.ts";
import { type Command, log, printJson } from "../command.ts";
import { abortOnSigint } from "../progress.ts";

const USAGE = `models <list|catalog|pull|import|inspect|rm|default|discard> ...
  models list [--json]                      installed models, and downloads paused or kept
  models catalog [--json]                   the published OpenELM models, sizes and the recommended one,
                                            and the embedding model search by meaning uses
  models pull [<repo-id|short-name>] [--precision int4|int8|fp32] [--revision REV] [--name NAME]
              [--force] [--remove-source] [--json]
                                            download, verify and convert (the recommended model if none given);
                                            'models pull all-minilm-l6-v2' installs the embedding model
  models import <dir> [--precision P] [--name NAME] [--force] [--json]
                                            a Hugging Face checkpoint folder, or an Elmwood model folder
  models inspect <name> [--json]            precision, size, source and sha256 of each file
  models rm <name> [--source | --keep-source] [--json]
                                            remove a model (and its download); --source removes only the download
  models default [<name>] [--json]          show or choose the default model (<engine>/<model> for a remote one)
  models discard <repo-id> [--json]         delete a paused download`;

function one(positionals: string[], what: string, example: string): string {
  if (positionals.length !== 1) {
    throw new ElmwoodError("BAD_INPUT", `This needs exactly one ${what}.`, `Example: elmwood ${example}`);
  }
  return positionals[0];
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${seconds % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Progress on stderr: one redrawn line on a terminal, occasional plain lines otherwise. */
function progressPrinter(): (event: LibraryProgress) => void {
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  let open = false;
  const line = (text: string, transient: boolean) => {
    if (tty) {
      process.stderr.write(`\r\x1b[2K${text}${transient ? "" : "\n"}`);
      open = transient;
    } else if (!transient) {
      log(text);
    } else if (performance.now() - lastLine > 2_000) {
      lastLine = performance.now();
      log(text);
    }
  };
  const close = () => {
    if (open) process.stderr.write("\n");
    open = false;
  };
  return (e) => {
    switch (e.type) {
      case "wait":
        close();
        return line(`waiting for ${e.holder}, which is working on ${e.what}...`, false);
      case "resolve":
        return line(`asking the hub for ${e.repoId} (${e.revision})...`, false);
      case "plan":
        return line(
          `${e.repoId}: ${e.files.length} files, ${formatBytes(e.totalBytes)}` +
            (e.presentBytes > 0 ? `, resuming with ${formatBytes(e.presentBytes)} already here` : ""),
          false,
        );
      case "download": {
        const pct = e.totalBytes > 0 ? ((e.bytes / e.totalBytes) * 100).toFixed(1) : "100";
        const speed = e.bytesPerSecond > 0 ? `, ${formatBytes(e.bytesPerSecond)}/s` : "";
        const eta = e.etaSeconds !== null && e.bytes < e.totalBytes ? `, ${duration(e.etaSeconds)} left` : "";
        return line(
          `downloading ${pct}% (${formatBytes(e.bytes)} of ${formatBytes(e.totalBytes)}${speed}${eta}) ${e.file}`,
          true,
        );
      }
      case "retry":
        close();
        return line(
          `retry ${e.attempt}/${e.retries} in ${(e.delayMs / 1000).toFixed(1)} s${e.file ? ` (${e.file})` : ""}: ${e.reason}`,
          false,
        );
      case "verified":
        close();
        return line(`verified ${e.file} (${formatBytes(e.bytes)}, ${e.check})`, false);
      case "validate":
        return line(`checking ${e.dir}`, false);
      case "convert": {
        const pct = e.total > 0 ? ((e.done / e.total) * 100).toFixed(0) : "0";
        return line(`converting (${e.phase}) ${pct}%`, e.done < e.total || e.phase !== "finish");
      }
      case "done":
        close();
        return line(`ready: ${e.name}`, false);
    }
  };
}

function modelJson(m: StoredModel) {
  return {
    name: m.name,
    dir: m.dir,
    precision: m.precision,
    bytes: m.bytes,
    parameters: m.parameters,
    contextLength: m.contextLength,
    isDefault: m.isDefault,
    createdAt: m.createdAt,
    source: m.source,
    files: m.files,
  };
}

function describe(m: StoredModel): string {
  const source = m.source.repoId ?? m.source.path;
  return `${m.isDefault ? "*" : " "} ${m.name.padEnd(32)} ${m.precision.padEnd(5)} ${formatBytes(m.bytes).padStart(10)}  ${source}`;
}

function embeddingJson(m: InstalledEmbedding) {
  return {
    name: m.name,
    dir: m.dir,
    repoId: m.repoId,
    revision: m.revision,
    dims: m.dims,
    maxTokens: m.maxTokens,
    pooling: m.pooling,
    normalize: m.normalize,
    bytes: m.bytes,
    licence: m.licence,
    createdAt: m.createdAt,
    files: m.files,
  };
}

async function list(library: ModelLibrary, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } } });
  const listing = await library.list();
  const embeddings = await library.embeddings();
  const downloads = (await library.listDownloads()).filter((d) => !d.complete);
  // The remote engines' models, as last listed (no engine is contacted to list them).
  const engines = new RemoteEngines({ paths: elmwoodPaths() });
  const remote = await engines.models().finally(() => engines.close());
  const remoteDefault = remote.some((m) => m.isDefault);
  const models = listing.models.map((m) => (remoteDefault ? { ...m, isDefault: false } : m));
  if (values.json) {
    printJson({
      models: models.map(modelJson),
      remote,
      broken: [...listing.broken, ...embeddings.broken],
      downloads,
      embedding: embeddings.models.map(embeddingJson),
    });
    return 0;
  }
  if (models.length === 0 && listing.broken.length === 0 && remote.length === 0) {
    log("No models installed. Get the recommended one with 'elmwood models pull'.");
  }
  for (const m of models) process.stdout.write(`${describe(m)}\n`);
  for (const m of remote) {
    process.stdout.write(
      `${m.isDefault ? "*" : " "} ${m.name.padEnd(32)} remote on ${m.host} (engine ${m.engine}), ${m.contextLength}-token window\n`,
    );
  }
  for (const b of listing.broken) process.stdout.write(`! ${b.name.padEnd(32)} broken: ${b.problem}\n`);
  for (const m of embeddings.models) {
    process.stdout.write(
      `  ${m.name.padEnd(32)} embed ${formatBytes(m.bytes).padStart(10)}  ${m.repoId} (search by meaning)\n`,
    );
  }
  for (const b of embeddings.broken) process.stdout.write(`! ${b.name.padEnd(32)} broken: ${b.problem}\n`);
  for (const d of downloads) {
    process.stdout.write(
      `  ${d.repoId} paused at ${formatBytes(d.presentBytes)} of ${formatBytes(d.totalBytes)} (run 'elmwood models pull ${d.repoId}' to resume)\n`,
    );
  }
  return 0;
}

async function catalog(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } } });
  const recommended = recommendedModel();
  const rows = CATALOG.map((e) => ({
    ...e,
    recommended: e.repoId === recommended.repoId,
    estimates: (["int4", "int8", "fp32"] as Precision[]).map((p) => estimate(e, p)),
  }));
  const embedding = EMBEDDING_CATALOG.map((e) => ({ ...e, downloadBytes: embeddingDownloadBytes(e) }));
  if (values.json) {
    printJson({ recommended: recommended.repoId, models: rows, embedding });
    return 0;
  }
  for (const r of rows) {
    const int4 = r.estimates[0];
    process.stdout.write(
      `${r.recommended ? "*" : " "} ${r.repoId.padEnd(30)} ${r.slug.padEnd(24)} download ${formatBytes(int4.downloadBytes).padStart(9)}, int4 ${formatBytes(int4.diskBytes).padStart(9)} on disk, ~${formatBytes(int4.memoryBytes)} memory\n`,
    );
  }
  for (const e of embedding) {
    process.stdout.write(
      `  ${e.repoId.padEnd(30)} ${e.slug.padEnd(24)} download ${formatBytes(e.downloadBytes).padStart(9)}, ${e.dims}-d vectors, ${e.licence} (search by meaning)\n`,
    );
  }
  log(`* recommended for this machine: ${recommended.repoId}`);
  return 0;
}

async function pull(library: ModelLibrary, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      precision: { type: "string" },
      revision: { type: "string" },
      name: { type: "string" },
      force: { type: "boolean", default: false },
      "remove-source": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length > 1) {
    throw new ElmwoodError(
      "BAD_INPUT",
      "pull takes one repository id.",
      "Example: elmwood models pull apple/OpenELM-270M-Instruct",
    );
  }
  const repoId = positionals[0] ?? recommendedModel().repoId;
  if (!positionals[0]) log(`pulling the recommended model for this machine: ${repoId}`);
  const signal = abortOnSigint();
  const embedding = findEmbeddingEntry(repoId);
  try {
    if (embedding) {
      const result = await library.pullEmbedding(embedding.repoId, {
        revision: values.revision,
        force: values.force,
        signal,
        onProgress: progressPrinter(),
      });
      if (!result.installed) log(`${result.model.name} is already installed.`);
      log(
        "Search finds passages by meaning once they have vectors: the app makes them, or 'elmwood index sync'.",
      );
      if (values.json)
        printJson({
          ...embeddingJson(result.model),
          installed: result.installed,
          fetchedBytes: result.fetchedBytes,
        });
      else process.stdout.write(`${result.model.name}\n`);
      return 0;
    }
    const result = await library.pull(repoId, {
      precision: values.precision?.toLowerCase() as Precision | undefined,
      revision: values.revision,
      name: values.name,
      force: values.force,
      removeSource: values["remove-source"],
      signal,
      onProgress: progressPrinter(),
    });
    const m = result.model;
    if (!result.converted) log(`${m.name} is already installed.`);
    if (result.keptSource) {
      log(
        `The downloaded checkpoint (${formatBytes(result.keptSource.bytes)}) is kept in ${result.keptSource.dir}; free the space with 'elmwood models rm ${m.name} --source'.`,
      );
    }
    if (values.json) {
      printJson({
        ...modelJson(m),
        converted: result.converted,
        fetchedBytes: result.fetchedBytes,
        keptSource: result.keptSource ?? null,
      });
    } else {
      process.stdout.write(`${m.name}\n`);
    }
    return 0;
  } catch (error) {
    if (isElmwoodError(error) && error.code === "CANCELLED") {
      throw new ElmwoodError(
        "CANCELLED",
        `Pull of ${repoId} paused; what was downloaded is kept.`,
        `Run 'elmwood models pull ${repoId}' to resume.`,
      );
    }
    throw error;
  }
}

async function importCommand(library: ModelLibrary, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      precision: { type: "string" },
      name: { type: "string" },
      force: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const dir = one(positionals, "folder", "models import ~/Downloads/OpenELM-270M-Instruct");
  const result = await library.importFolder(dir, {
    precision: values.precision?.toLowerCase() as Precision | undefined,
    name: values.name,
    force: values.force,
    signal: abortOnSigint(),
    onProgress: progressPrinter(),
  });
  if (values.json) printJson({ ...modelJson(result.model), kind: result.kind });
  else process.stdout.write(`${result.model.name}\n`);
  return 0;
}

async function inspect(library: ModelLibrary, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  const m = await library.inspect(
    one(positionals, "model name", "models inspect openelm-270m-instruct-int4"),
  );
  if (values.json) {
    printJson(modelJson(m));
    return 0;
  }
  const source = m.source.repoId ? `${m.source.repoId}@${m.source.revision ?? "?"}` : m.source.path;
  const lines = [
    `name        ${m.name}${m.isDefault ? " (default)" : ""}`,
    `folder      ${m.dir}`,
    `precision   ${m.precision}`,
    `size        ${formatBytes(m.bytes)}`,
    `parameters  ${(m.parameters / 1e6).toFixed(1)}M, context ${m.contextLength}`,
    `source      ${source}${m.source.managed ? (m.source.present ? ` (kept in ${m.source.path})` : " (removed)") : ""}`,
    `created     ${m.createdAt}`,
    ...m.files.map((f) => `file        ${f.path} ${formatBytes(f.bytes)} sha256 ${f.sha256}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

async function rm(library: ModelLibrary, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      source: { type: "boolean", default: false },
      "keep-source": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const name = one(positionals, "model name", "models rm openelm-270m-instruct-int4");
  if (await library.isEmbedding(name)) {
    await library.removeEmbedding(name);
    log(`removed ${name}; search goes by words only until it is installed again`);
    if (values.json) printJson({ name, removedSource: null });
    return 0;
  }
  if (values.source && values["keep-source"]) {
    throw new ElmwoodError(
      "BAD_INPUT",
      "--source and --keep-source contradict each other.",
      "Give one of them.",
    );
  }
  if (values.source) {
    const result = await library.removeSource(name);
    log(
      result.removed
        ? `removed ${result.dir} (${formatBytes(result.bytes)})`
        : `no downloaded checkpoint is left for ${name}`,
    );
    if (values.json) printJson({ name, source: result });
    return 0;
  }
  const result = await library.remove(name, { keepSource: values["keep-source"] });
  log(
    `removed ${name}${result.removedSource ? ` and its download (${formatBytes(result.removedSource.bytes)})` : ""}`,
  );
  if (values.json) printJson({ name, removedSource: result.removedSource ?? null });
  return 0;
}

async function defaultCommand(library: ModelLibrary, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  if (positionals.length > 1)
    throw new ElmwoodError(
      "BAD_INPUT",
      "default takes at most one model name.",
      "Example: elmwood models default openelm-450m-instruct-int4",
    );
  const engines = new RemoteEngines({ paths: elmwoodPaths() });
  try {
    const chosen = positionals[0];
    const remote = chosen !== undefined && splitRemoteName(chosen) !== null;
    if (chosen && remote) {
      await engines.setDefault(chosen);
    } else if (chosen) {
      await library.setDefault(chosen);
      // An installed model chosen now replaces a remote default.
      if (await engines.defaultModel()) await engines.setDefault(null);
    }
    const name = (await engines.defaultModel()) ?? (await library.getDefault());
    if (values.json) printJson({ default: name ?? null });
    else if (name) process.stdout.write(`${name}\n`);
    else log("No default model: choose one with 'elmwood models default <name>'.");
    return 0;
  } finally {
    await engines.close();
  }
}

async function discard(library: ModelLibrary, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  const repoId = one(positionals, "repository id", "models discard apple/OpenELM-3B-Instruct");
  await library.discardDownload(repoId);
  log(`discarded the download of ${repoId}`);
  if (values.json) printJson({ repoId, discarded: true });
  return 0;
}

export const models: Command = {
  name: "models",
  usage: "models <list|catalog|pull|import|inspect|rm|default|discard> [options]",
  help: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    // A move of the store that a crash interrupted is finished or undone before the store is used.
    await recoverModelStoreMove(elmwoodPaths());
    const library = new ModelLibrary();
    switch (sub) {
      case "list":
        return list(library, rest);
      case "catalog":
        return catalog(rest);
      case "pull":
        return pull(library, rest);
      case "import":
        return importCommand(library, rest);
      case "inspect":
        return inspect(library, rest);
      case "rm":
        return rm(library, rest);
      case "default":
        return defaultCommand(library, rest);
      case "discard":
        return discard(library, rest);
      default:
        throw new ElmwoodError(
          "BAD_INPUT",
          sub ? `'${sub}' is not a models subcommand.` : "models needs a subcommand.",
          "Run 'elmwood models --help' for the list.",
        );
    }
  },
};
