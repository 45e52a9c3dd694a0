/**
 * The OpenAI-compatible API as a switch in Settings: follows the stored API settings, starting,
 * restarting (new port or token) or stopping its own loopback server when they change, and reports
 * whether it is listening back to the service so Settings shows the truth. The desktop app and
 * `elmwood serve` (without --api) each run one.
 */
import type { ApiStatus } from "../api/contract.ts";
import { isElmwoodError } from "../errors.ts";
import type { ElmwoodService } from "../service.ts";
import { type RunningServer, startServer } from "./server.ts";

type Applied = Pick<ApiStatus, "port" | "token" | "allowRemote">;

export class ApiDoor {
  private server: RunningServer | undefined;
  private applied: Applied | undefined;
  /** Settings that failed to start (port in use, ...): not retried until they change. */
  private failed: Applied | undefined;
  private lastError: string | null = null;
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(private readonly service: ElmwoodService) {}

  /** Applies the current settings and follows their changes. */
  async start(): Promise<void> {
    this.unsubscribe = this.service.on("api.changed", (status) => this.schedule(status));
    await this.schedule(await this.service.call("api.get", {}));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await this.queue;
    await this.stop();
  }

  get running(): RunningServer | undefined {
    return this.server;
  }

  /** Changes apply one at a time, in order. */
  private schedule(status: ApiStatus): Promise<void> {
    this.queue = this.queue.then(() => this.apply(status)).catch(() => {});
    return this.queue;
  }

  private async apply(status: ApiStatus): Promise<void> {
    if (this.closed) return;
    const wanted: Applied = { port: status.port, token: status.token, allowRemote: status.allowRemote };
    const equal = (a: Applied | undefined) =>
      a !== undefined &&
      a.port === wanted.port &&
      a.token === wanted.token &&
      a.allowRemote === wanted.allowRemote;
    // Nothing to change: only make sure the service shows the state as it is.
    if (status.enabled && this.server && equal(this.applied)) {
      if (!status.running) await this.report(null);
      return;
    }
    if (status.enabled && !this.server && equal(this.failed)) {
      if (status.error !== this.lastError) await this.report(this.lastError);
      return;
    }
    this.failed = undefined;
    this.lastError = null;
    if (!status.enabled && !this.server) {
      if (status.running || status.error) await this.report(null);
      return;
    }
    await this.stop();
    if (!status.enabled) {
      await this.report(null);
      return;
    }
    try {
      this.server = await startServer({
        door: this.service,
        ui: false,
        api: { token: wanted.token },
        port: wanted.port,
        host: wanted.allowRemote ? "0.0.0.0" : "127.0.0.1",
        allowRemote: wanted.allowRemote,
      });
      this.applied = wanted;
      await this.report(null);
    } catch (error) {
      this.failed = wanted;
      this.lastError = isElmwoodError(error) ? error.toLine() : String(error);
      await this.report(this.lastError);
    }
  }

  private async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.applied = undefined;
    await server?.close();
  }

  private report(error: string | null): Promise<void> {
    const server = this.server;
    // Reporting emits api.changed again; apply() sees the same settings and does nothing.
    return this.service.reportApi({ running: Boolean(server), baseUrl: server?.apiBaseUrl ?? null, error });
  }
}
