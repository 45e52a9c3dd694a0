/**
 * `elmwood serve` as a child process, as a person runs it, and the contract over its HTTP door:
 * calls, and the event stream read as a feed that tests wait on.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export interface ServeInfo {
  url: string;
  origin: string;
  port: number;
  apiBaseUrl: string | null;
  apiToken: string | null;
  /** The model loaded at start (--model), by the name it is served under. */
  model: string | null;
}

export interface ServeProcess {
  child: ChildProcess;
  info: ServeInfo;
  uiToken: string;
  stderr: () => string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string>;
}

export interface SpawnOptions {
  /** A command the server runs under (e.g. strace and its arguments). */
  prefix?: string[];
  /** The folder to run in (default: this checkout). */
  cwd?: string;
}

export async function spawnServe(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: SpawnOptions = {},
): Promise<ServeProcess> {
  const command = [
    ...(options.prefix ?? []),
    process.execPath,
    "bin/elmwood.js",
    "serve",
    "--port",
    "0",
    "--json",
    ...args,
  ];
  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, ...env },
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const info = await new Promise<ServeInfo>((resolve, reject) => {
    lines.on("line", (line) => {
      if (line.startsWith("{")) resolve(JSON.parse(line) as ServeInfo);
    });
    exited.then((code) =>
      reject(new Error(`elmwood serve exited (${code}) before it was ready:\n${stderr}`)),
    );
  });
  const uiToken = new URL(info.url).searchParams.get("token") ?? "";
  return { child, info, uiToken, stderr: () => stderr, exited };
}

/** One contract call over HTTP; throws the error envelope's message when it fails. */
export async function callOver(serve: ServeProcess, name: string, input: unknown = {}): Promise<never> {
  const res = await fetch(`${serve.info.origin}/api/call/${name}`, {
    method: "POST",
    headers: { authorization: `Bearer ${serve.uiToken}`, "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as {
    ok: boolean;
    value?: unknown;
    error?: { code: string; message: string };
  };
  if (!body.ok) throw new Error(`${name}: ${body.error?.code} ${body.error?.message}`);
  return body.value as never;
}

interface Waiter {
  event: string;
  match: (data: never) => boolean;
  resolve: (data: unknown) => void;
}

/** The server's event stream; `next` resolves with the first event (seen or to come) that matches. */
export async function openFeed(serve: ServeProcess) {
  const controller = new AbortController();
  const res = await fetch(`${serve.info.origin}/api/events`, {
    headers: { authorization: `Bearer ${serve.uiToken}` },
    signal: controller.signal,
  });
  if (!res.ok || !res.body) throw new Error(`event stream refused: ${res.status}`);
  const seen: { event: string; data: unknown }[] = [];
  const waiters: Waiter[] = [];
  const deliver = (event: string, data: unknown) => {
    seen.push({ event, data });
    for (const w of [...waiters]) {
      if (w.event === event && w.match(data as never)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(data);
      }
    }
  };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) deliver(event, JSON.parse(data));
        }
      }
    } catch {
      // The stream ends when the server dies or the feed is closed.
    }
  })();
  return {
    /** Every event of a kind seen so far that matches, oldest first. */
    seen<T>(event: string, match: (data: T) => boolean = () => true): T[] {
      return seen.filter((s) => s.event === event && match(s.data as T)).map((s) => s.data as T);
    },
    next<T>(event: string, match: (data: T) => boolean = () => true): Promise<T> {
      const earlier = seen.find((s) => s.event === event && match(s.data as T));
      if (earlier) return Promise.resolve(earlier.data as T);
      return new Promise((resolve) =>
        waiters.push({ event, match: match as never, resolve: resolve as never }),
      );
    },
    close: () => controller.abort(),
  };
}
