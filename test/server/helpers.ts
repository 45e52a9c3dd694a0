/** Raw HTTP for the server tests: exact headers (Host, Origin, Cookie) that fetch would not let us set. */
import { request } from "node:http";
import { type RunningServer, type ServerOptions, startServer } from "../../engine/server/server.ts";
import { FakeEngine } from "./fake-engine.ts";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => unknown;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Default: this server's own Host. */
  host?: string;
}

export function raw(port: number, options: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "GET",
        path: options.path,
        headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

export interface FakeServer {
  engine: FakeEngine;
  server: RunningServer;
  port: number;
  apiToken: string;
  uiToken: string;
  close(): Promise<void>;
}

export const API_TOKEN = "test-api-token-0123456789abcdef";

export async function startFakeServer(options: Partial<ServerOptions> = {}): Promise<FakeServer> {
  const engine = new FakeEngine();
  const server = await startServer({ door: engine, port: 0, api: { token: API_TOKEN }, ...options });
  return {
    engine,
    server,
    port: server.port,
    apiToken: API_TOKEN,
    uiToken: server.uiToken ?? "",
    close: () => server.close(),
  };
}

/** Authorization for the API door. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
