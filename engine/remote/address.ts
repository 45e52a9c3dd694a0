/**
 * An engine's base URL as a person types it, made into the one Elmwood stores: http or https only,
 * no credentials or query in it (addresses are shown on screen and in lists; keys have their own
 * field), "/v1" added to a bare address, and a pasted endpoint ("…/v1/chat/completions") cut back
 * to its base. Whether the text it carries would cross a network unencrypted is decided here.
 */
import { ElmwoodError } from "../errors.ts";

export interface EngineAddress {
  /** e.g. http://127.0.0.1:8000/v1, never with a trailing "/". */
  baseUrl: string;
  /** What the person sees text go to: "gpu-box:8000", "127.0.0.1:8000". */
  host: string;
  /** This machine: 127.0.0.0/8, ::1, localhost. */
  loopback: boolean;
  /** Plain http to another machine. */
  unencrypted: boolean;
}

const EXAMPLE = "e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama";

/** Endpoints people paste instead of the base URL. */
const ENDPOINT_SUFFIXES = ["/chat/completions", "/completions", "/models"];

export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (name === "::1" || name === "0:0:0:0:0:0:0:1") return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return true;
  // IPv4 loopback written as IPv6 (::ffff:127.0.0.1, which URL normalizes to ::ffff:7f00:1).
  return /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(name);
}

function refuse(message: string, hint = `Give the engine's base URL (${EXAMPLE}).`): never {
  throw new ElmwoodError("BAD_INPUT", message, hint);
}

export function parseEngineAddress(input: string): EngineAddress {
  const text = input.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    refuse(
      `'${text.slice(0, 200)}' is not a full address: it needs http:// or https:// in front.`,
      `Elmwood does not guess which one, since only https is encrypted (${EXAMPLE}).`,
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    refuse(`'${text.slice(0, 200)}' is not a web address.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    refuse(`Engines are reached over http or https, not ${url.protocol.replace(/:$/, "")}.`);
  }
  if (url.username || url.password) {
    refuse(
      "The address has a user name or password in it.",
      "Put the API key in its own field (or --api-key-env): addresses are shown on screen and in lists.",
    );
  }
  if (url.search || url.hash) {
    refuse("The address has a query or a fragment (after ? or #).", `Give the base URL only (${EXAMPLE}).`);
  }
  let path = url.pathname.replace(/\/+$/, "");
  for (const suffix of ENDPOINT_SUFFIXES) {
    if (path.endsWith(suffix) && path.length > suffix.length) {
      path = path.slice(0, -suffix.length);
      break;
    }
  }
  // Every engine Elmwood knows serves the API under /v1 of its address.
  if (path === "") path = "/v1";
  const loopback = isLoopbackHost(url.hostname);
  return {
    baseUrl: `${url.protocol}//${url.host}${path}`,
    host: url.host,
    loopback,
    unencrypted: url.protocol === "http:" && !loopback,
  };
}

/** The name an engine gets when none is given: its host's first label ("gpu-box" for gpu-box.lan). */
export function suggestEngineName(address: EngineAddress, taken: ReadonlySet<string>): string {
  const hostname = new URL(address.baseUrl).hostname.replace(/^\[|\]$/g, "");
  const ip = /^[\d.]+$/.test(hostname) || hostname.includes(":");
  const base = address.loopback
    ? "local"
    : ip
      ? "engine"
      : (hostname.split(".")[0] ?? "engine")
          .toLowerCase()
          .replace(/[^a-z0-9_-]+/g, "-")
          .replace(/^[^a-z0-9]+/, "")
          .slice(0, 28) || "engine";
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const name = `${base}-${n}`;
    if (!taken.has(name)) return name;
  }
}
