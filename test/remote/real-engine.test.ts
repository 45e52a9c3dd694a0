/**
 * Elmwood's own `elmwood serve --api`, started in a second process with its own profile and a small
 * model, is the remote engine: a real OpenAI-compatible server. Another Elmwood (with no model of
 * its own) adds it and chats, summarizes and answers through it, in the service and on the command
 * line; and the 16 clients of the local API's load test are served by forwarding to it.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../engine/server/server.ts";
import type { ElmwoodService } from "../../engine/service.ts";
import { type ServeProcess, spawnServe } from "../server/serve-process.ts";
import { MODEL, makeServiceFixture, nextEvent, replyTo, type ServiceFixture } from "../service/fixture.ts";

const ENGINE_TOKEN = "remote-engine-api-token-0123456789";
const FORWARD_TOKEN = "forwarding-api-token-0123456789ab";
const REMOTE = `peer/${MODEL}`;

/** The engine's side: a profile with a model, served with --api. */
let engineSide: ServiceFixture;
let engine: ServeProcess;
/** The client's side: a profile without any model. */
let clientSide: ServiceFixture;
let service: ElmwoodService;
/** The engine's API, asked directly, for the answers to compare with. */
let direct: OpenAI;

beforeAll(async () => {
  engineSide = await makeServiceFixture({ withModel: true });
  engine = await spawnServe(["--api", "--model", MODEL, "--provider", "cpu", "--threads", "1"], {
    ELMWOOD_HOME: engineSide.home,
    ELMWOOD_API_TOKEN: ENGINE_TOKEN,
  });
  direct = new OpenAI({ baseURL: engine.info.apiBaseUrl ?? "", apiKey: ENGINE_TOKEN, maxRetries: 0 });
  clientSide = await makeServiceFixture({ withModel: false });
  service = clientSide.open();
}, 300_000);

afterAll(async () => {
  await service?.close();
  if (engine && engine.child.exitCode === null) engine.child.kill("SIGTERM");
  await engine?.exited;
  await engineSide?.cleanup();
  await clientSide?.cleanup();
});

function cli(home: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["bin/elmwood.js", ...args],
      { env: { ...process.env, ELMWOOD_HOME: home, ...env }, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("another Elmwood as the remote engine, through the service", () => {
  it("is added with its API token, and lists its model with the window it reports", async () => {
    const added = await service.call("engines.add", {
      baseUrl: engine.info.apiBaseUrl ?? "",
      name: "peer",
      apiKey: ENGINE_TOKEN,
    });
    expect(added.models).toEqual([
      expect.objectContaining({ name: REMOTE, contextLength: 2048, contextSource: "engine" }),
    ]);
  });

  it("chats: the reply streamed is the engine's own answer to the same messages", async () => {
    const conversation = await service.call("conversations.create", {
      settings: { model: REMOTE, systemPrompt: "", sampling: { temperature: 0, maxTokens: 8 } },
    });
    const reply = await replyTo(
      service,
      service.call("chat.send", { conversationId: conversation.id, content: "Tell me about the woods." }),
    );
    const expected = await direct.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Tell me about the woods." }],
      temperature: 0,
      max_tokens: 8,
    });
    expect(reply.text.length).toBeGreaterThan(0);
    expect(reply.text).toBe(expected.choices[0].message.content);
    // Counted by the engine, in its own tokenizer.
    expect(reply.done?.message.stats).toMatchObject({
      promptTokens: expected.usage?.prompt_tokens,
      completionTokens: expected.usage?.completion_tokens,
    });
    expect(reply.done?.message.stats?.estimated).toBeUndefined();
  });

  it("summarizes a document with the remote model as the default", async () => {
    await service.call("models.setDefault", { name: REMOTE });
    const ended = nextEvent(service, "summary.progress", (e) => ["done", "error"].includes(e.event.type));
    await service.call("documents.summarize", {
      text: "Birches grow on the north bank. Their bark peels in white strips. ".repeat(12),
      name: "birches.txt",
    });
    const end = await ended;
    expect(end.event.type, JSON.stringify(end.event)).toBe("done");
    expect(end.event.type === "done" && end.event.result.summary.length).toBeGreaterThan(0);
  });

  it("answers 'Ask about these results' through it", async () => {
    const folder = join(clientSide.home, "notes");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "elm.md"), "# Elm\n\nThe elm by the river is two hundred years old.\n");
    const idle = nextEvent(service, "documents.progress", (e) => e.type === "idle");
    await service.call("documents.addFolder", { path: folder });
    await idle;
    const ended = nextEvent(service, "answer.progress", (e) => ["done", "error"].includes(e.event.type));
    await service.call("documents.ask", { question: "How old is the elm?" });
    const end = await ended;
    expect(end.event.type, JSON.stringify(end.event)).toBe("done");
  });
});

describe("another Elmwood as the remote engine, on the command line", () => {
  let home: string;

  beforeAll(async () => {
    home = join(clientSide.home, "..", "cli-home");
    await mkdir(home, { recursive: true });
  });

  it("adds it with --api-key-env, keeping the key in an owner-only file and out of every output", async () => {
    const added = await cli(
      home,
      [
        "engines",
        "add",
        engine.info.apiBaseUrl ?? "",
        "--name",
        "peer",
        "--api-key-env",
        "PEER_KEY",
        "--json",
      ],
      { PEER_KEY: ENGINE_TOKEN },
    );
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({
      name: "peer",
      hasKey: true,
      models: [{ name: REMOTE }],
    });
    const listed = await cli(home, ["engines", "list"]);
    expect(listed.stdout).toContain(REMOTE);
    for (const output of [added.stdout, added.stderr, listed.stdout, listed.stderr]) {
      expect(output).not.toContain(ENGINE_TOKEN);
    }
    expect((await stat(join(home, "engine-keys.json"))).mode & 0o777).toBe(0o600);
  });

  it("generates with --model peer/<model>: the engine continues the prompt as its /v1/completions does", async () => {
    const run = await cli(home, [
      "generate",
      "--model",
      REMOTE,
      "--prompt",
      "Once upon a time",
      "--max-new-tokens",
      "6",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}");
    const expected = await direct.completions.create({
      model: MODEL,
      prompt: "Once upon a time",
      max_tokens: 6,
      temperature: 0,
    });
    expect(result).toMatchObject({ provider: "remote", text: expected.choices[0].text });
    expect(run.stderr).toContain(`sent to ${new URL(engine.info.apiBaseUrl ?? "").host}`);
  });

  it("summarizes a file with --model peer/<model>", async () => {
    const file = join(home, "oak.txt");
    await writeFile(file, "The oak keeps its dead leaves all winter. Acorns fall in October.\n");
    const run = await cli(home, ["summarize", file, "--model", REMOTE, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}");
    expect(result.summary.length).toBeGreaterThan(0);
    expect(run.stderr).toContain("the text is sent to");
  });

  it("lists the remote model beside the installed ones, and makes it the default", async () => {
    const set = await cli(home, ["models", "default", REMOTE]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.trim()).toBe(REMOTE);
    const listed = await cli(home, ["models", "list"]);
    expect(listed.stdout).toMatch(
      new RegExp(`^\\* ${REMOTE} +remote on 127\\.0\\.0\\.1:\\d+ \\(engine peer\\), 2048-token window$`, "m"),
    );
  });

  it("refuses token ids and logits for a remote model: its engine has its own tokenizer", async () => {
    const run = await cli(home, ["generate", "--model", REMOTE, "--tokens", "1,2,3"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("takes --prompt, not --tokens");
    const logits = await cli(home, ["logits", "--model", REMOTE, "--tokens", "1,2,3", "--json"]);
    expect(logits.code).toBe(1);
    expect(logits.stderr).toContain("is a remote engine's model: it gives text, not logits");
  });

  it("serves the remote model to requests that name none with 'serve --api --model peer/<model>'", async () => {
    const token = "forwarding-serve-token-0123456789";
    const forwarding = await spawnServe(["--api", "--model", REMOTE], {
      ELMWOOD_HOME: home,
      ELMWOOD_API_TOKEN: token,
    });
    try {
      expect(forwarding.info.model).toBe(REMOTE);
      const client = new OpenAI({ baseURL: forwarding.info.apiBaseUrl ?? "", apiKey: token, maxRetries: 0 });
      const answer = await client.chat.completions.create({
        messages: [{ role: "user", content: "Name a tree." }],
        temperature: 0,
        max_tokens: 5,
      } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
      const expected = await direct.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "Name a tree." }],
        temperature: 0,
        max_tokens: 5,
      });
      expect(answer.model).toBe(REMOTE);
      expect(answer.choices[0].message.content).toBe(expected.choices[0].message.content);
    } finally {
      forwarding.child.kill("SIGTERM");
      await forwarding.exited;
    }
  });

  it("says in one line when the engine is gone, and what to check", async () => {
    const engines = JSON.parse(await readFile(join(home, "engines.json"), "utf8"));
    engines.engines[0].baseUrl = "http://127.0.0.1:9/v1";
    await writeFile(join(home, "engines.json"), JSON.stringify(engines));
    const run = await cli(home, ["generate", "--model", REMOTE, "--prompt", "Hi"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(
      /^elmwood generate: Nothing is listening at 127\.0\.0\.1:9 \(connection refused\)\. Check that the engine is running and that its address \(http:\/\/127\.0\.0\.1:9\/v1\) is right in Settings → Engines \('elmwood engines' on the command line\)\.$/,
    );
  });
});

describe("16 clients at once through a forwarding Elmwood", () => {
  const CLIENTS = 16;
  let forwarding: RunningServer;

  beforeAll(async () => {
    forwarding = await startServer({ door: service, port: 0, ui: false, api: { token: FORWARD_TOKEN } });
  });

  afterAll(async () => {
    await forwarding?.close();
  });

  const request = (i: number) => ({
    model: REMOTE,
    messages: [{ role: "user" as const, content: `Client ${i} asks about tree number ${i * 7 + 3}.` }],
    max_tokens: 12,
    ...(i % 2 === 0 ? { temperature: 0 } : { temperature: 0.9, seed: 1000 + i }),
  });

  it("lists the remote model in its own /v1/models", async () => {
    const client = new OpenAI({ baseURL: forwarding.apiBaseUrl, apiKey: FORWARD_TOKEN, maxRetries: 0 });
    const list = await client.models.list();
    expect(list.data).toEqual([
      expect.objectContaining({ id: REMOTE, owned_by: "peer", max_model_len: 2048 }),
    ]);
  });

  it("each gets its own complete answer, the same as when it asked alone", async () => {
    const client = new OpenAI({ baseURL: forwarding.apiBaseUrl, apiKey: FORWARD_TOKEN, maxRetries: 0 });
    const alone: string[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const answer = await client.chat.completions.create(request(i));
      alone.push(answer.choices[0].message.content ?? "");
    }
    // The answers differ from one another, so a mixed-up answer would be caught.
    expect(new Set(alone).size).toBeGreaterThan(CLIENTS / 2);

    const together = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const own = new OpenAI({
          baseURL: forwarding.apiBaseUrl,
          apiKey: FORWARD_TOKEN,
          maxRetries: 0,
          timeout: 180_000,
        });
        if (i % 2 === 0) {
          const answer = await own.chat.completions.create(request(i));
          return {
            text: answer.choices[0].message.content ?? "",
            finish: answer.choices[0].finish_reason,
            id: answer.id,
          };
        }
        const stream = await own.chat.completions.create({ ...request(i), stream: true });
        let text = "";
        let finish: string | null = null;
        let id = "";
        for await (const chunk of stream) {
          id = chunk.id;
          text += chunk.choices[0]?.delta.content ?? "";
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        return { text, finish, id };
      }),
    );
    expect(together.map((t) => t.text)).toEqual(alone);
    for (const t of together) expect(["stop", "length"]).toContain(t.finish);
    expect(new Set(together.map((t) => t.id)).size).toBe(CLIENTS);
  }, 300_000);
});
