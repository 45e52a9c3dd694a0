/**
 * `elmwood engines add|list|refresh|key|remove`: the remote OpenAI-compatible engines (vLLM, a
 * llama.cpp server, Ollama, LM Studio, another Elmwood) whose models every command can use as
 * `--model <engine>/<model>`. The same engines.json as the desktop app and `elmwood serve`; keys the
 * command line is given go to the profile's owner-only key file, read from an environment variable
 * so they never appear in a shell's history or the process list.
 */
import { parseArgs } from "node:util";
import type { EngineInfo } from "../../api/contract.ts";
import { EngineAdd, EngineName } from "../../api/contract.ts";
import { ElmwoodError } from "../../errors.ts";
import { elmwoodPaths } from "../../paths.ts";
import { RemoteEngines } from "../../remote/engines.ts";
import { type Command, log, printJson } from "../command.ts";
import { numberOption } from "../parse.ts";

const USAGE = `engines <add|list|refresh|key|remove> ...
  engines add <base-url> [--name NAME] [--api-key-env VAR] [--context-length N] [--allow-unencrypted] [--json]
                                    check an OpenAI-compatible engine (GET /v1/models) and keep it
  engines list [--json]             the engines and their models, as last listed
  engines refresh NAME [--json]     list the engine's models again
  engines key NAME (--api-key-env VAR | --remove) [--json]
                                    set or remove the engine's API key
  engines remove NAME [--json]      forget the engine, its models and its key`;

const HELP = [
  "A remote model is used as --model <engine>/<model> by generate, summarize and serve.",
  "Examples: elmwood engines add http://127.0.0.1:8000/v1 --name gpu   (vllm serve <model>)",
  "          elmwood engines add http://127.0.0.1:11434/v1 --name ollama",
  "--api-key-env VAR reads the key from the environment variable VAR and keeps it in the profile,",
  "readable by you only. Plain http to another machine is refused unless --allow-unencrypted is given:",
  "everything sent would cross the network unencrypted.",
].join("\n");

function engineName(value: string | undefined, example: string): string {
  if (value === undefined) {
    throw new ElmwoodError("BAD_INPUT", "This needs the engine's name.", `Example: elmwood ${example}`);
  }
  const parsed = EngineName.safeParse(value);
  if (!parsed.success) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `'${value}' is not an engine name: it ${parsed.error.issues[0].message}.`,
      "'elmwood engines list' shows the names.",
    );
  }
  return parsed.data;
}

function keyFrom(variable: string): string {
  const key = process.env[variable];
  if (key === undefined || key === "") {
    throw new ElmwoodError(
      "BAD_INPUT",
      `The environment variable ${variable} is not set.`,
      `Set it to the engine's API key first: export ${variable}=…`,
    );
  }
  if (!/^[\x21-\x7e]+$/.test(key) || key.length > 4096) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `${variable} holds something that cannot be an API key (spaces or non-ASCII characters).`,
      "Check the value you exported.",
    );
  }
  return key;
}

function describe(engine: EngineInfo): string {
  const key = engine.hasKey
    ? `key kept (${engine.keyStorage === "encrypted" ? "desktop app" : "file"})`
    : "no key";
  const lines = [`${engine.name}  ${engine.baseUrl}  ${key}${engine.unencrypted ? "  UNENCRYPTED" : ""}`];
  if (engine.error) lines.push(`  last refresh failed: ${engine.error.message}`);
  if (engine.models.length === 0) lines.push("  (no models)");
  for (const model of engine.models) {
    const window =
      model.contextSource === "engine"
        ? `${model.contextLength} tokens (reported)`
        : model.contextSource === "settings"
          ? `${model.contextLength} tokens (set)`
          : `${model.contextLength} tokens (assumed; set it with --context-length when adding)`;
    lines.push(`  ${model.name}  window ${window}${model.isDefault ? "  [default]" : ""}`);
  }
  return lines.join("\n");
}

async function withEngines<T>(work: (engines: RemoteEngines) => Promise<T>): Promise<T> {
  const engines = new RemoteEngines({ paths: elmwoodPaths() });
  try {
    return await work(engines);
  } finally {
    await engines.close();
  }
}

export const engines: Command = {
  name: "engines",
  usage: USAGE,
  help: HELP,
  async run(args) {
    const [action, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        "api-key-env": { type: "string" },
        "context-length": { type: "string" },
        "allow-unencrypted": { type: "boolean", default: false },
        remove: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
    const show = (engine: EngineInfo) => {
      if (values.json) printJson(engine);
      else process.stdout.write(`${describe(engine)}\n`);
    };
    switch (action) {
      case "add": {
        if (positionals.length !== 1) {
          throw new ElmwoodError(
            "BAD_INPUT",
            "Give the engine's base URL.",
            "Example: elmwood engines add http://127.0.0.1:8000/v1 --name gpu",
          );
        }
        const input = EngineAdd.safeParse({
          baseUrl: positionals[0],
          ...(values.name !== undefined ? { name: values.name } : {}),
          ...(values["api-key-env"] !== undefined ? { apiKey: keyFrom(values["api-key-env"]) } : {}),
          ...(values["context-length"] !== undefined
            ? {
                contextLength: numberOption(values["context-length"], "--context-length", 0, {
                  integer: true,
                  min: 256,
                }),
              }
            : {}),
          ...(values["allow-unencrypted"] ? { allowUnencrypted: true } : {}),
        });
        if (!input.success) {
          const issue = input.error.issues[0];
          throw new ElmwoodError(
            "BAD_INPUT",
            `--${String(issue.path[0] ?? "input").replace("baseUrl", "base-url")}: ${issue.message}.`,
          );
        }
        const added = await withEngines((e) => e.add(input.data));
        if (!values.json)
          log(
            `added '${added.name}' (${added.models.length} models); use them as --model ${added.name}/<model>`,
          );
        show(added);
        return 0;
      }
      case "list": {
        const { engines: list, problem } = await withEngines((e) => e.list());
        if (problem) log(problem);
        if (values.json) printJson({ engines: list, problem });
        else if (list.length === 0)
          process.stdout.write("No remote engines. Add one with 'elmwood engines add <base-url>'.\n");
        else process.stdout.write(`${list.map(describe).join("\n\n")}\n`);
        return 0;
      }
      case "refresh": {
        show(await withEngines((e) => e.refresh(engineName(positionals[0], "engines refresh gpu"))));
        return 0;
      }
      case "key": {
        const name = engineName(positionals[0], "engines key gpu --api-key-env GPU_KEY");
        if (values.remove === (values["api-key-env"] !== undefined)) {
          throw new ElmwoodError(
            "BAD_INPUT",
            "Give exactly one of --api-key-env VAR or --remove.",
            "Example: elmwood engines key gpu --api-key-env GPU_KEY",
          );
        }
        const apiKey = values.remove ? null : keyFrom(values["api-key-env"] as string);
        show(await withEngines((e) => e.update({ name, apiKey })));
        return 0;
      }
      case "remove": {
        const name = engineName(positionals[0], "engines remove gpu");
        const removed = await withEngines((e) => e.remove(name));
        if (!removed) {
          throw new ElmwoodError(
            "NOT_FOUND",
            `There is no engine named '${name}'.`,
            "'elmwood engines list' shows them.",
          );
        }
        if (values.json) printJson({ removed: name });
        else process.stdout.write(`Removed '${name}'; its key was deleted.\n`);
        return 0;
      }
      default:
        throw new ElmwoodError(
          "BAD_INPUT",
          action ? `Unknown engines command '${action}'.` : "Say what to do with the engines.",
          `Usage: elmwood ${USAGE.split("\n")[0]}`,
        );
    }
  },
};
