/**
 * The checks every request passes before any route sees it: the Host header names this server (a
 * DNS-rebinding page cannot borrow it), and an Origin, when a browser sends one, is the server's own
 * (another site's page cannot drive it). The token is checked per door, after these.
 */
import type { IncomingMessage } from "node:http";
import { HttpProblem } from "./http-io.ts";

export interface HostPolicy {
  port: number;
  /** Host names accepted in the Host header, lower case: loopback names unless the user opted in. */
  names: ReadonlySet<string>;
}

export const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"] as const;

export function isLoopbackAddress(address: string): boolean {
  return (
    address === "127.0.0.1" || address === "::1" || address === "localhost" || address.startsWith("127.")
  );
}

/** "name:port" -> { name, port }; IPv6 literals keep their brackets. */
function splitAuthority(authority: string): { name: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(authority);
  if (!match) return undefined;
  return { name: match[1].toLowerCase(), port: match[2] === undefined ? undefined : Number(match[2]) };
}

function authorityAllowed(authority: string, policy: HostPolicy): boolean {
  const parts = splitAuthority(authority);
  if (!parts || !policy.names.has(parts.name)) return false;
  return (parts.port ?? 80) === policy.port;
}

export function checkHost(req: IncomingMessage, policy: HostPolicy): void {
  const host = req.headers.host;
  if (host === undefined || !authorityAllowed(host, policy)) {
    throw new HttpProblem(
      403,
      "BAD_INPUT",
      `This server does not answer to the host '${String(host ?? "").slice(0, 100)}'.`,
      `Use http://127.0.0.1:${policy.port}/ or http://localhost:${policy.port}/.`,
      { apiCode: "forbidden_host" },
    );
  }
}

export function checkOrigin(req: IncomingMessage, policy: HostPolicy): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  const match = /^http:\/\/(.+)$/i.exec(origin);
  if (!match || !authorityAllowed(match[1], policy)) {
    throw new HttpProblem(
      403,
      "BAD_INPUT",
      `Requests from the page at '${origin.slice(0, 100)}' are not allowed.`,
      "Only Elmwood's own page may call this server; other programs should not send an Origin header.",
      { apiCode: "forbidden_origin" },
    );
  }
}
