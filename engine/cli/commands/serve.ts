/**
 * `elmwood serve`: the engine behind the loopback server, until Ctrl+C. Browser mode always (the
 * renderer with the contract over HTTP); with --api also the OpenAI-compatible API, whose base URL and
 * token are printed on stdout.
 */
import { parseArgs } from "node:util";
import { ElmwoodError } from "../../errors.ts";
import { splitRemoteName } from "../../remote/engines.ts";
import { ApiDoor } from "../../server/api-door.ts";
import { DEFAULT_PORT, type RunningServer, startServer } from "../../server/server.ts";
import { ElmwoodService } from "../../service.ts";
import { resolveApiToken } from "../../settings/api-settings.ts";
import { type Command, log, printJson } from "../command.ts";
import { MODEL_OPTIONS, parseModelArgs, resolveModelArg } from "../model-arg.ts";
import { numberOption } from "../parse.ts";

/** Resolves on the first SIGINT or SIGTERM; the server and the service then close in order. */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(signal);
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
  });
}

/**
 * The name --model is served under: an installed model's own name, or for a converted folder
 * outside the store, the name it is attached under for this run (printed, as the API needs it).
 */
async function servedName(service: ElmwoodService, value: string): Promise<string> {
  const target = await resolveModelArg(value, service.paths);
  if (target.name !== undefined) return target.name;
  const name = await service.attachModelFolder(target.dir);
  log(`serving the model folder ${target.dir} as '${name}'`);
  return name;
}

export const serve: Command = {
  name: "serve",
  usage:
    "serve [--port P] [--model NAME|DIR|ENGINE/MODEL] [--provider P] [--threads N] [--api] [--host ADDRESS --allow-remote] [--json]",
  help: [
    "Serves Elmwood's page and engine on http://127.0.0.1:P (default 4861; 0 picks a free port) and prints the",
    "address with this launch's token. --model loads that model now: an installed model's name, or a converted",
    "model folder, which is served under a name made from the folder's (printed, and 'model' in --json). A remote",
    "engine's model (<engine>/<model>, see 'elmwood engines') is not loaded but checked, and becomes the model that",
    "requests naming none are sent to while this serve runs.",
    "--api adds the OpenAI-compatible API under /v1 and prints its base URL and token (ELMWOOD_API_TOKEN sets",
    "the token; otherwise the one in Settings). Only this machine can connect unless --host names another",
    "address and --allow-remote is given.",
  ].join("\n"),
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        ...MODEL_OPTIONS,
        port: { type: "string" },
        api: { type: "boolean", default: false },
        host: { type: "string", default: "127.0.0.1" },
        "allow-remote": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
    const port = numberOption(values.port, "--port", DEFAULT_PORT, { integer: true, min: 0 });
    if (port > 65_535) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `--port must be at most 65535 (got ${port}).`,
        "Pick a port from 1024 to 65535.",
      );
    }
    const { model, provider, threads } = parseModelArgs(values);
    const apiToken = values.api ? await resolveApiToken() : undefined;

    const service = new ElmwoodService();
    let server: RunningServer | undefined;
    let loaded: string | null = null;
    // Without --api, the API follows its switch in Settings, on its own port, as in the desktop app.
    const apiDoor = values.api ? undefined : new ApiDoor(service);
    try {
      const remote =
        model !== undefined &&
        splitRemoteName(model) !== null &&
        (await service.remote.list()).engines.some((e) => e.name === splitRemoteName(model)?.engine);
      if (remote && model !== undefined) {
        loaded = await service.preferModel(model);
        const host = (await service.remote.models()).find((m) => m.name === model)?.host;
        log(`requests that name no model go to ${model}, on ${host ?? "its engine"}`);
      } else if (model !== undefined || provider !== undefined || threads !== undefined) {
        const name = model === undefined ? undefined : await servedName(service, model);
        log(`loading ${name ?? "the default model"}...`);
        const status = await service.call("models.load", { name, provider, threads });
        loaded = status.name;
        log(`loaded ${status.name} on ${status.provider?.label ?? status.provider?.name ?? "?"}`);
      }
      server = await startServer({
        door: service,
        host: values.host,
        port,
        allowRemote: values["allow-remote"],
        api: apiToken ? { token: apiToken } : false,
        onInternalError: (error) =>
          log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
      });
      service.startIndexing();
      await apiDoor?.start();
    } catch (error) {
      await apiDoor?.close();
      await server?.close();
      await service.close();
      throw error;
    }

    if (values.json) {
      printJson({
        url: server.uiUrl,
        origin: server.origin,
        port: server.port,
        apiBaseUrl: server.apiBaseUrl ?? null,
        apiToken: server.apiToken ?? null,
        model: loaded,
      });
    } else {
      process.stdout.write(`Elmwood is serving on ${server.uiUrl}\n`);
      if (server.apiBaseUrl) {
        process.stdout.write(`OpenAI-compatible API: ${server.apiBaseUrl}\nAPI token: ${server.apiToken}\n`);
      }
    }
    log("Open the address above in a browser. Press Ctrl+C to stop.");

    const signal = await untilStopped();
    log(`${signal}: stopping...`);
    await apiDoor?.close();
    await server.close();
    await service.close();
    return 0;
  },
};
