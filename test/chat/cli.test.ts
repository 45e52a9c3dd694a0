/** `elmwood chat list|export|import` as a person runs them, over a profile with two conversations. */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationStore } from "../../engine/chat/store.ts";
import { openDatabase } from "../../engine/store/database.ts";

const ELMWOOD = resolve("bin/elmwood.js");
const sampling = { temperature: 0.7, topP: 0.9, topK: 40, minP: 0, repetitionPenalty: 1.2, maxTokens: 64 };

let root: string;
let home: string;
let birches: string;

function elmwood(...args: string[]) {
  const child = spawn(process.execPath, [ELMWOOD, "chat", ...args], {
    env: { ...process.env, ELMWOOD_HOME: home },
    cwd: root,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.on("close", (code) => done({ code, stdout, stderr })),
  );
}

/** Adds conversations the way the app saves them. */
function seed(work: (store: ConversationStore) => void) {
  const db = openDatabase(join(home, "elmwood.db"));
  try {
    work(new ConversationStore(db));
  } finally {
    db.close();
  }
}

function chatIn(store: ConversationStore, title: string, question: string, answer: string): string {
  const { id } = store.create({ title, systemPrompt: "Be brief.", sampling, model: null });
  const q = store.add(id, { parentId: null, role: "user", content: question });
  store.add(id, { parentId: q.id, role: "assistant", content: answer, model: "tiny" });
  return id;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "elmwood-chat-cli-"));
  home = join(root, "home");
  seed((store) => {
    birches = chatIn(store, "Birches", "Why is birch bark white?", "Betulin, a compound in the bark.");
    chatIn(store, "Maples", "When do maples turn red?", "In autumn, as chlorophyll fades.");
  });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("elmwood chat (CLI)", () => {
  it("lists the conversations with their ids, and as JSON", async () => {
    const text = await elmwood("list");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${birches}\\s.*\\s2 msgs\\s+Birches$`, "m"));
    expect(text.stdout).toContain("Maples");
    const json = await elmwood("list", "--json");
    const { conversations, total } = JSON.parse(json.stdout.trim().split("\n").pop() ?? "");
    expect(total).toBe(2);
    expect(conversations.map((c: { title: string }) => c.title).sort()).toEqual(["Birches", "Maples"]);
  });

  it("exports a conversation found by id or by title as Markdown to stdout", async () => {
    const byId = await elmwood("export", birches);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toMatch(/^# Birches\n/);
    expect(byId.stdout).toContain("> Be brief.");
    expect(byId.stdout).toContain("### Elmwood (tiny)\n\nBetulin, a compound in the bark.");
    const byTitle = await elmwood("export", "birches");
    expect(byTitle.stdout.replace(/Exported from Elmwood:\*\* .*/, "")).toBe(
      byId.stdout.replace(/Exported from Elmwood:\*\* .*/, ""),
    );
  });

  it("exports as JSON to a file with --out, and imports it back as a new conversation", async () => {
    const out = join(root, "birches.json");
    const exported = await elmwood("export", birches, "--format", "json", "--out", "birches.json");
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain(`Exported "Birches" to ${out}.`);
    expect(JSON.parse(await readFile(out, "utf8"))).toMatchObject({
      format: "elmwood.conversation",
      title: "Birches",
    });

    const imported = await elmwood("import", out, "--json");
    expect(imported.code).toBe(0);
    const { conversation, notes } = JSON.parse(imported.stdout.trim().split("\n").pop() ?? "");
    expect(conversation).toMatchObject({ title: "Birches", messageCount: 2 });
    expect(conversation.id).not.toBe(birches);
    expect(notes).toEqual([]);
    // Two conversations are called Birches now: the title alone no longer says which.
    const ambiguous = await elmwood("export", "Birches");
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain("2 conversations match 'Birches'");
    expect(ambiguous.stderr).toContain(birches);
    expect(ambiguous.stderr).toContain(conversation.id);
  });

  it("says when no conversation matches, and how to find one", async () => {
    const missing = await elmwood("export", "Oaks");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "elmwood chat: No conversation has the id or title 'Oaks'. Run 'elmwood chat list' to see the conversations and their ids.\n",
    );
  });

  it("refuses to import a file that is not an Elmwood conversation, adding nothing", async () => {
    const foreign = join(root, "other.json");
    await writeFile(foreign, JSON.stringify({ messages: [{ role: "user", content: "hi" }] }));
    const before = JSON.parse((await elmwood("list", "--json")).stdout.trim()).total;
    const refused = await elmwood("import", foreign);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'This is not an Elmwood conversation: it has no "format": "elmwood.conversation".',
    );
    expect(JSON.parse((await elmwood("list", "--json")).stdout.trim()).total).toBe(before);
    const absent = await elmwood("import", join(root, "nowhere.json"));
    expect(absent.stderr).toContain("There is no file at");
  });

  it("refuses a format it does not know", async () => {
    const bad = await elmwood("export", birches, "--format", "pdf");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--format must be md or json, not 'pdf'.");
  });
});
