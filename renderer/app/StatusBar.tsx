/**
 * One line at the bottom: model, provider, speed of the last reply, context used, background work;
 * and, whenever text goes to a remote engine (the chat on screen uses one, or a summary, an answer or
 * an API request is being written by one), "Sent to <host>".
 */
import type { ModelStatus } from "../../engine/api/contract.ts";
import { useChatModel } from "../chat/chat-model.ts";
import { liveTokensPerSecond } from "../chat/chat-reducer.ts";
import { formatCount, formatSpeed, percent } from "../lib/format.ts";
import { isActive, jobFraction } from "../models/job-progress.ts";
import { useChat, useChatPerFrame, useDocuments, useModels, useStatus } from "../stores/stores.tsx";

function modelText(model: ModelStatus | undefined): string {
  if (!model) return "Connecting…";
  switch (model.state) {
    case "none":
      return "No model yet";
    case "unloaded":
      return `${model.name ?? "Model"} (loads on first message)`;
    case "loading":
      return `Loading ${model.name ?? "model"}…`;
    case "ready":
      return model.name ?? "Model ready";
    case "error":
      return `${model.name ?? "Model"} failed to load`;
  }
}

export function StatusBar() {
  const status = useStatus((s) => s.status);
  const statusError = useStatus((s) => s.error);
  const messages = useChat((s) => s.messages);
  const streaming = useChatPerFrame((s) => s.streaming);
  const jobs = useModels((s) => s.jobs);
  const folders = useDocuments((s) => s.folders);
  const chatModel = useChatModel();
  const remote = chatModel?.remote ?? null;
  const hosts = [
    ...new Set([...(remote ? [remote.host] : []), ...(status?.remote.inUse.map((use) => use.host) ?? [])]),
  ];

  const lastReply = [...messages].reverse().find((m) => m.stats);
  const speed = streaming ? liveTokensPerSecond(streaming) : (lastReply?.stats?.tokensPerSecond ?? null);
  const window = chatModel?.contextLength ?? status?.model.contextLength ?? 2048;
  const used = lastReply?.stats ? lastReply.stats.promptTokens + lastReply.stats.completionTokens : 0;

  const work: string[] = [];
  for (const job of Object.values(jobs).filter(isActive)) {
    const fraction = jobFraction(job);
    const what = job.phase === "converting" ? "converting" : job.kind === "pull" ? "download" : "import";
    work.push(fraction === null ? `${what}…` : `${what} ${percent(fraction)}`);
  }
  for (const folder of folders.filter((f) => f.state === "indexing" || f.state === "scanning")) {
    work.push(`indexing ${formatCount(folder.filesDone)} / ${formatCount(folder.filesTotal)} files`);
  }
  const meaning = status?.documents.meaning;
  if (meaning?.state === "embedding") {
    work.push(`meaning ${formatCount(meaning.embedded)} / ${formatCount(meaning.total)} passages`);
  }

  return (
    <section className="status-bar" aria-label="Status">
      <span className={`status-item model-state model-${status?.model.state ?? "unknown"}`}>
        {statusError ? "Engine unreachable" : remote && chatModel ? chatModel.name : modelText(status?.model)}
      </span>
      {hosts.map((host) => (
        <span
          key={host}
          className="status-item sent-to"
          title="A remote engine writes here: what you send, and the conversation or document it is about, goes to this host."
        >
          Sent to {host}
        </span>
      ))}
      {status?.model.provider && !remote ? (
        <span className="status-item" title={status.model.provider.reason}>
          {status.model.provider.label}
        </span>
      ) : null}
      <span className="status-item">{speed !== null ? formatSpeed(speed) : "– tokens/s"}</span>
      <span className="status-item">
        Context {formatCount(used)} / {formatCount(window)}
      </span>
      {work.length > 0 ? <span className="status-item work">{work.join(" · ")}</span> : null}
    </section>
  );
}
