import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ElmwoodService } from "../../engine/service.ts";
import { buildPdf } from "../documents/fixtures.ts";
import { makeServiceFixture, nextEvent, type ServiceFixture } from "./fixture.ts";

let fx: ServiceFixture;
let service: ElmwoodService;
/** What documents.open asked the system to do. */
const opened: string[] = [];
/** Whether the opener's PDF viewer takes a page (as the person's viewer would, or would not). */
let viewerTakesPage = true;
const recordingOpener = {
  opener: {
    open: async (path: string) => void opened.push(`open ${path}`),
    reveal: async (path: string) => void opened.push(`reveal ${path}`),
    openPdfAtPage: async (path: string, page: number) => {
      opened.push(viewerTakesPage ? `open ${path} at page ${page}` : `open ${path}`);
      return viewerTakesPage;
    },
  },
};

beforeAll(async () => {
  fx = await makeServiceFixture({ withModel: false });
  service = fx.open(recordingOpener);
});

afterAll(async () => {
  await service?.close();
  await fx?.cleanup();
});

describe("the engine service before any model is installed", () => {
  it("refuses to chat with a hint to download a model, and leaves no empty conversation behind", async () => {
    await expect(service.call("chat.send", { content: "Hello" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "No model is installed yet.",
      hint: expect.stringMatching(/Download one/),
    });
    expect((await service.call("conversations.list", {})).total).toBe(0);
  });

  it("reports the model state as none", async () => {
    const status = await service.call("status.get", {});
    expect(status.model).toMatchObject({ state: "none", name: null, provider: null });
    expect(status.home).toBe(fx.home);
  });

  it("refuses invalid input with BAD_INPUT naming the field", async () => {
    await expect(
      service.call("conversations.updateSettings", { id: "abc", sampling: { temperature: 9 } }),
    ).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("'sampling.temperature'"),
    });
    await expect(service.call("chat.send", { content: "" })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("'content'"),
    });
  });

  it("refuses a call that is not in the contract", async () => {
    await expect(service.call("chat.explode" as "chat.send", {})).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("no call named 'chat.explode'"),
    });
  });

  it("names a conversation that does not exist", async () => {
    await expect(service.call("conversations.get", { id: "missing" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("keeps settings across a restart and refuses an out-of-range one", async () => {
    await service.call("settings.update", { sampling: { repetitionPenalty: 1.3 }, theme: "dark" });
    await service.close();
    service = fx.open(recordingOpener);
    const settings = await service.call("settings.get", {});
    expect(settings).toMatchObject({ theme: "dark", sampling: { repetitionPenalty: 1.3, temperature: 0.7 } });
    await expect(service.call("settings.update", { threads: 0 })).rejects.toMatchObject({
      code: "BAD_INPUT",
    });
  });

  it("new conversations start from the settings' sampling, with OpenELM's repetition penalty by default", async () => {
    const fresh = await service.call("conversations.create", {});
    expect(fresh.settings.sampling.repetitionPenalty).toBe(
      (await service.call("settings.get", {})).sampling.repetitionPenalty,
    );
    expect(fresh.title).toBe("New chat");
  });

  it("exports a conversation as Markdown and JSON and imports the JSON back, noting a model not installed here", async () => {
    const { id } = await service.call("conversations.create", {
      title: "Hedges",
      settings: { systemPrompt: "Be brief.", model: "openelm-270m-instruct-int4" },
    });
    const question = service.conversations.add(id, {
      parentId: null,
      role: "user",
      content: "What is a hedge?",
    });
    service.conversations.add(id, { parentId: question.id, role: "assistant", content: "A row of shrubs." });
    const markdown = await service.call("conversations.export", { id });
    expect(markdown).toMatchObject({ filename: "Hedges.md", mimeType: "text/markdown" });
    expect(markdown.content).toContain("- **Model:** openelm-270m-instruct-int4");
    const json = await service.call("conversations.export", { id, format: "json" });
    const { conversation, notes } = await service.call("conversations.import", { content: json.content });
    expect(conversation.id).not.toBe(id);
    expect(conversation.messages.map((m) => m.content)).toEqual(["What is a hedge?", "A row of shrubs."]);
    expect(conversation.settings).toMatchObject({ systemPrompt: "Be brief.", model: null });
    expect(notes).toEqual([
      'The model "openelm-270m-instruct-int4" is not installed here, so the conversation will use the default model.',
    ]);
    await expect(service.call("conversations.import", { content: "not json" })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringMatching(/^This file is not JSON/),
    });
  });

  it("refuses to import a folder that does not exist before starting a job", async () => {
    await expect(service.call("models.import", { path: `${fx.home}/nowhere` })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("indexes an added folder; documents.ask finds sources for a plain question, then asks for a model", async () => {
    const folder = join(fx.home, "notes");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "garden.md"), "# Garden\n\nThe elderberry hedge flowers in June.\n");
    await writeFile(
      join(folder, "orchard.pdf"),
      buildPdf([["Apples and pears."], ["Quince trees want shelter from the wind."]]),
    );
    const idle = nextEvent(service, "documents.progress", (e) => e.type === "idle");
    const added = await service.call("documents.addFolder", { path: folder });
    expect(added.path).toBe(folder);
    await idle;
    const found = await service.call("documents.search", { query: "elderberry" });
    expect(found.hits.map((h) => h.path)).toEqual([join(folder, "garden.md")]);

    const sources = nextEvent(service, "answer.progress", (e) => e.event.type === "sources");
    const failed = nextEvent(service, "answer.progress", (e) => e.event.type === "error");
    const { jobId } = await service.call("documents.ask", { question: "When does the elderberry flower?" });
    expect((await sources).event).toMatchObject({
      type: "sources",
      hits: [{ path: join(folder, "garden.md") }],
    });
    expect(await failed).toMatchObject({ jobId, event: { error: { code: "NOT_FOUND" } } });
  });

  it("opens or reveals an indexed file, and refuses any path the index does not hold", async () => {
    const file = join(fx.home, "notes", "garden.md");
    await service.call("documents.open", { path: file });
    await service.call("documents.open", { path: file, reveal: true });
    expect(opened).toEqual([`open ${file}`, `reveal ${file}`]);
    await expect(service.call("documents.open", { path: "/bin/sh" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "/bin/sh is not in the search index.",
    });
    expect(opened).toHaveLength(2);
  });

  it("opens a PDF hit at its page, and says when the viewer could not be told the page", async () => {
    const found = await service.call("documents.search", { query: "quince" });
    const hit = found.hits[0];
    expect(hit).toMatchObject({ kind: "pdf", page: 2 });
    const pdf = join(fx.home, "notes", "orchard.pdf");
    opened.length = 0;

    viewerTakesPage = true;
    expect(await service.call("documents.open", { path: pdf, page: hit?.page ?? 0 })).toEqual({
      opened: true,
      atPage: { page: 2, jumped: true },
    });
    viewerTakesPage = false;
    expect(await service.call("documents.open", { path: pdf, page: 2 })).toEqual({
      opened: true,
      atPage: { page: 2, jumped: false },
    });
    // A page means nothing to a Markdown file, and showing a file in its folder has no page.
    const garden = join(fx.home, "notes", "garden.md");
    expect(await service.call("documents.open", { path: garden, page: 3 })).toEqual({
      opened: true,
      atPage: null,
    });
    expect(await service.call("documents.open", { path: pdf, page: 2, reveal: true })).toEqual({
      opened: true,
      atPage: null,
    });
    expect(opened).toEqual([`open ${pdf} at page 2`, `open ${pdf}`, `open ${garden}`, `reveal ${pdf}`]);
    await expect(service.call("documents.open", { path: pdf, page: 0 })).rejects.toMatchObject({
      code: "BAD_INPUT",
    });
  });
});
