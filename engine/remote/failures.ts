/**
 * What goes wrong talking to a remote engine, as one sentence each with a way forward: the host
 * cannot be reached, TLS fails, the key is refused, the model is gone, the engine is busy, the
 * answer is not what the OpenAI API sends. The engine's own words are quoted where it gave some
 * (trimmed; they can be long), never a header, so an API key cannot end up in a message.
 */
import { ElmwoodError } from "../errors.ts";

export interface EngineContext {
  /** The engine's name in Elmwood ("gpu"). */
  engine: string;
  /** "gpu-box:8000" */
  host: string;
  baseUrl: string;
}

/** Where engines are changed: in the app, and on the command line. */
const SETTINGS = "Settings → Engines ('elmwood engines' on the command line)";

/** A short, single-line excerpt of what an engine said (control characters become spaces). */
export function excerpt(text: string, max = 300): string {
  let clean = "";
  for (const char of text) {
    const code = char.charCodeAt(0);
    clean += code < 0x20 || code === 0x7f ? " " : char;
  }
  const line = clean.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The message in an error body: OpenAI's { error: { message } }, vLLM's { message }, FastAPI's { detail }, or text. */
export function engineMessage(body: string): { message: string; code: string | null } {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const error = parsed.error;
    if (typeof error === "string") return { message: excerpt(error), code: null };
    if (error && typeof error === "object") {
      const e = error as Record<string, unknown>;
      const code = typeof e.code === "string" ? e.code : typeof e.type === "string" ? e.type : null;
      if (typeof e.message === "string") return { message: excerpt(e.message), code };
    }
    if (typeof parsed.message === "string") return { message: excerpt(parsed.message), code: null };
    if (typeof parsed.detail === "string") return { message: excerpt(parsed.detail), code: null };
  } catch {
    // Not JSON: an HTML error page from a proxy, or plain text.
  }
  if (/^\s*</.test(body)) return { message: "", code: null };
  return { message: excerpt(body), code: null };
}

const TLS_CODES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "its certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "its certificate comes from an authority this machine does not trust",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "its certificate comes from an authority this machine does not trust",
  UNABLE_TO_GET_ISSUER_CERT: "its certificate comes from an authority this machine does not trust",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its certificate could not be verified",
  CERT_HAS_EXPIRED: "its certificate has expired",
  CERT_NOT_YET_VALID: "its certificate is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "its certificate is for another name",
  CERT_REVOKED: "its certificate was revoked",
};

/** A connection that failed before an answer arrived (or while it streamed). */
export function transportFailure(error: unknown, at: EngineContext): ElmwoodError {
  const code = (error as { code?: string }).code ?? "";
  const detail = error instanceof Error ? error.message : String(error);
  const where = at.host;
  const check = `Check that the engine is running and that its address (${at.baseUrl}) is right in ${SETTINGS}.`;
  const network = (message: string, hint: string) =>
    new ElmwoodError("NETWORK", message, hint, { cause: error });
  if (code === "ECONNREFUSED") {
    return network(`Nothing is listening at ${where} (connection refused).`, check);
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return network(
      `The name '${new URL(at.baseUrl).hostname}' could not be found.`,
      `Check the address in ${SETTINGS}; on a VPN or a local network, check that it is connected.`,
    );
  }
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EHOSTDOWN") {
    return network(`There is no route to ${where} from this machine.`, check);
  }
  if (code === "ECONNECT_TIMEOUT") {
    return network(`Connecting to ${where} timed out.`, check);
  }
  if (code === "EIDLE_TIMEOUT") {
    return network(
      `${where} stopped answering (nothing for five minutes).`,
      "Check the engine's log; try again.",
    );
  }
  if (code in TLS_CODES) {
    return network(
      `The secure connection to ${where} failed: ${TLS_CODES[code]}.`,
      code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID"
        ? "Renew the engine's certificate (or check this machine's clock)."
        : "If the engine uses a certificate authority of your own, start Elmwood with NODE_EXTRA_CA_CERTS=/path/to/ca.pem.",
    );
  }
  if (/SSL|TLS|EPROTO/i.test(code) || /wrong version number|ssl3_get_record/i.test(detail)) {
    return network(
      `The secure connection to ${where} failed: it does not speak TLS (https) on that port.`,
      "If the engine serves plain http, give its address with http:// instead.",
    );
  }
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED") {
    return network(`${where} closed the connection.`, "Check the engine's log; try again.");
  }
  return network(`Could not talk to ${where}: ${excerpt(detail, 200)}.`, check);
}

/** An HTTP answer that is not a success. `what`: the request, for 404 ("models" or the model's id). */
export function statusFailure(
  status: number,
  statusText: string,
  body: string,
  at: EngineContext,
  what: { kind: "models" } | { kind: "generate"; model: string },
): ElmwoodError {
  const said = engineMessage(body);
  const quote = said.message ? `: ${said.message}` : "";
  const answered = `${status}${statusText ? ` ${statusText}` : ""}`;
  const where = at.host;
  if (status === 401 || status === 403) {
    return new ElmwoodError(
      "NETWORK",
      `${where} refused the request (${answered}): the API key is ${status === 401 ? "missing or wrong" : "not allowed to do this"}${quote}.`,
      `Set the engine's API key in ${SETTINGS}, or with 'elmwood engines key ${at.engine} --api-key-env VAR'.`,
    );
  }
  if (status === 404) {
    return what.kind === "models"
      ? new ElmwoodError(
          "NOT_FOUND",
          `There is no OpenAI-compatible API at ${at.baseUrl} (GET /models answered ${answered}).`,
          "Check the base URL: vLLM, llama.cpp's server, LM Studio and Elmwood serve it at http://host:port/v1, Ollama at http://host:11434/v1.",
        )
      : new ElmwoodError(
          "NOT_FOUND",
          `The model '${what.model}' is not on ${where} any more (${answered})${quote}.`,
          `Refresh the engine's models (Settings → Engines, or 'elmwood engines refresh ${at.engine}'), then pick one it has.`,
        );
  }
  if (status === 429 || status === 503) {
    return new ElmwoodError(
      "BUSY",
      `${where} is busy (${answered})${quote}.`,
      "Try again in a minute, or use another model.",
    );
  }
  if (status === 400 || status === 413 || status === 422) {
    const overflow =
      said.code === "context_length_exceeded" ||
      /context (length|size|window)|maximum context|too many tokens|prompt is too long/i.test(said.message);
    return overflow
      ? new ElmwoodError(
          "CONTEXT_OVERFLOW",
          `The prompt does not fit the window of the model on ${where}${quote}.`,
          `Start a new chat, lower the maximum reply length, or set the engine's real window in ${SETTINGS}.`,
        )
      : new ElmwoodError(
          "BAD_INPUT",
          `${where} refused the request (${answered})${quote}.`,
          "The engine may not support one of the settings sent; check its log.",
        );
  }
  if (status >= 300 && status < 400) {
    return new ElmwoodError(
      "NETWORK",
      `${where} answered with a redirect (${answered}) instead of the API.`,
      `Elmwood does not follow redirects (it would send your text elsewhere): give the address it redirects to in ${SETTINGS}.`,
    );
  }
  return new ElmwoodError(
    "NETWORK",
    `${where} failed (${answered})${quote}.`,
    "Check the engine's log; try again.",
  );
}

/** An answer that is not the OpenAI API's (a web page from a proxy, a broken event, the wrong JSON). */
export function unreadable(at: EngineContext, what: string): ElmwoodError {
  return new ElmwoodError(
    "NETWORK",
    `${at.host} sent ${what}, not what the OpenAI API sends.`,
    `Check the base URL in ${SETTINGS} and that nothing (a proxy, a login page) is in between.`,
  );
}
