/**
 * Which model a view is about and where its text goes: the renderer's side of "sent to <host>". A
 * model whose name has a "/" is a remote engine's (`<engine>/<model>`); its host comes from the
 * engines' models as last listed.
 */
import type { ModelInfo, RemoteModelInfo } from "../../engine/api/contract.ts";

export interface ModelFacts {
  name: string;
  /** The window to measure against; null when the model is not known here (removed, not loaded yet). */
  contextLength: number | null;
  /** Set for a remote model: where its prompts are sent. */
  remote: { engine: string; host: string } | null;
}

export function isRemoteName(name: string | null | undefined): name is string {
  return typeof name === "string" && name.includes("/");
}

export function modelFacts(
  name: string | null,
  models: readonly ModelInfo[],
  remote: readonly RemoteModelInfo[],
): ModelFacts | null {
  if (!name) return null;
  if (isRemoteName(name)) {
    const found = remote.find((m) => m.name === name);
    const engine = name.slice(0, name.indexOf("/"));
    const host = found?.host ?? remote.find((m) => m.engine === engine)?.host ?? null;
    return {
      name,
      contextLength: found?.contextLength ?? null,
      remote: { engine, host: host ?? `the engine '${engine}'` },
    };
  }
  return { name, contextLength: models.find((m) => m.name === name)?.contextLength ?? null, remote: null };
}

/** Plain http to a machine other than this one: the person is asked before it is added. */
export function unencryptedHost(address: string): string | null {
  let url: URL;
  try {
    url = new URL(address.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "http:") return null;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const loopback =
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  return loopback ? null : url.host;
}
