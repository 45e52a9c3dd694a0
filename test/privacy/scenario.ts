/**
 * What a person does in a first session, driven through `elmwood serve`'s contract: load a model,
 * look at the (empty) remote engines, chat, add a folder and search it, summarize a file. The
 * privacy tests run it and then look at what the processes wrote and where they tried to connect.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { callOver, openFeed, type ServeProcess } from "../server/serve-process.ts";

export async function writeDocuments(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, "birch.txt");
  await writeFile(
    file,
    "The paper birch sheds its bark in thin white sheets every spring.\n\nIts seeds feed finches all winter.\n",
  );
  return file;
}

export async function exerciseServer(serve: ServeProcess, model: string, docs: string): Promise<void> {
  const feed = await openFeed(serve);
  try {
    await callOver(serve, "models.load", { name: model, provider: "cpu", threads: 1 });
    // Settings → Engines and the model lists with no remote engine: nothing to contact.
    const { engines } = (await callOver(serve, "engines.list")) as { engines: unknown[] };
    if (engines.length > 0) throw new Error("a remote engine exists that nobody added");
    await callOver(serve, "models.list");
    const sent = (await callOver(serve, "chat.send", {
      content: "Hello",
      settings: { sampling: { temperature: 0, maxTokens: 6 } },
    })) as { requestId: string };
    await feed.next<{ requestId: string }>("chat.done", (e) => e.requestId === sent.requestId);

    const ready = feed.next<{ type: string; state?: string }>(
      "documents.progress",
      (e) => e.type === "folder" && (e.state === "ready" || e.state === "error"),
    );
    await callOver(serve, "documents.addFolder", { path: docs });
    if ((await ready).state !== "ready") throw new Error("indexing failed");
    const { hits } = (await callOver(serve, "documents.search", { query: "birch bark" })) as {
      hits: unknown[];
    };
    if (hits.length === 0) throw new Error("search found nothing");

    const job = (await callOver(serve, "documents.summarize", { path: join(docs, "birch.txt") })) as {
      jobId: string;
    };
    const end = await feed.next<{ jobId: string; event: { type: string } }>(
      "summary.progress",
      (e) => e.jobId === job.jobId && (e.event.type === "done" || e.event.type === "error"),
    );
    if (end.event.type !== "done") throw new Error(`summary failed: ${JSON.stringify(end.event)}`);
  } finally {
    feed.close();
  }
}
