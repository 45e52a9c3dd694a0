/**
 * Long work started by a call (a pull, an import, a summary, an answer): each gets an id the call
 * returns at once, an AbortController, and a promise close() can wait for.
 */
import { newId } from "../chat/store.ts";

export type JobKind = "pull" | "import" | "summary" | "answer" | "completion" | "storeMove";

interface Job {
  kind: JobKind;
  controller: AbortController;
  done: Promise<void>;
}

export class Jobs {
  private readonly jobs = new Map<string, Job>();

  /** Starts `work` in the background; it reports its own outcome (through events). */
  start(kind: JobKind, work: (signal: AbortSignal, id: string) => Promise<void>): string {
    const id = newId();
    const controller = new AbortController();
    const done = Promise.resolve()
      .then(() => work(controller.signal, id))
      .catch(() => undefined)
      .finally(() => this.jobs.delete(id));
    this.jobs.set(id, { kind, controller, done });
    return id;
  }

  /** Aborts a job of one of `kinds`; false when there is no such job running. */
  cancel(id: string, kinds: readonly JobKind[]): boolean {
    const job = this.jobs.get(id);
    if (!job || !kinds.includes(job.kind)) return false;
    job.controller.abort();
    return true;
  }

  count(kind: JobKind): number {
    let n = 0;
    for (const job of this.jobs.values()) if (job.kind === kind) n++;
    return n;
  }

  async close(): Promise<void> {
    const all = [...this.jobs.values()];
    for (const job of all) job.controller.abort();
    await Promise.all(all.map((job) => job.done));
  }
}
