/**
 * The worker thread that owns a loaded model. A run of onnxruntime blocks the thread that calls it,
 * so the model lives here and the app's, server's and CLI's event loops stay free. Messages in: load,
 * generate, prefill, abort, logits, close. Messages out: loaded, token, done, prefilled, error.
 */
import { parentPort } from "node:worker_threads";
import { isElmwoodError } from "../errors.ts";
import { llamaTokenizer } from "../text/tokenizer.ts";
import { generate } from "./generator.ts";
import { type LoadOptions, ModelSession } from "./model-session.ts";
import type { WorkerReply, WorkerRequest } from "./model-worker-protocol.ts";

if (!parentPort) throw new Error("model-worker.ts must run in a worker thread");
const port = parentPort;

let session: ModelSession | undefined;
const running = new Map<number, AbortController>();
/** Generations in flight (until their last reply is sent), so a close waits for them to stop. */
const inFlight = new Set<Promise<unknown>>();
const tokenizer = llamaTokenizer();

const reply = (message: WorkerReply) => port.postMessage(message);
/** A clock both threads read alike (performance.now() counts from each thread's own start). */
const now = () => performance.timeOrigin + performance.now();
const errorOf = (error: unknown) =>
  isElmwoodError(error)
    ? { code: error.code, message: error.message, hint: error.hint }
    : { code: "INTERNAL" as const, message: error instanceof Error ? error.message : String(error) };

async function handle(message: WorkerRequest): Promise<void> {
  switch (message.type) {
    case "load": {
      const options: LoadOptions = message.options;
      session = await ModelSession.load(message.dir, options);
      reply({
        type: "loaded",
        id: message.id,
        info: { provider: session.provider, loadMs: session.loadMs, manifest: session.model.manifest },
      });
      return;
    }
    case "generate": {
      const active = session;
      if (!active) throw new Error("no model is loaded");
      const controller = new AbortController();
      running.set(message.id, controller);
      const before = { ...active.stats };
      try {
        const result = await generate(active, tokenizer, {
          ...message.request,
          signal: controller.signal,
          onToken: (token) =>
            reply({ type: "token", id: message.id, token, ...(message.timing ? { sentAt: now() } : {}) }),
        });
        const after = active.stats;
        const runStats = message.timing
          ? {
              runs: after.runs - before.runs,
              runMs: after.runMs - before.runMs,
              copyMs: after.copyMs - before.copyMs,
            }
          : undefined;
        reply({ type: "done", id: message.id, result, ...(runStats ? { runStats } : {}) });
      } finally {
        running.delete(message.id);
      }
      return;
    }
    case "prefill": {
      const active = session;
      if (!active) throw new Error("no model is loaded");
      const controller = new AbortController();
      running.set(message.id, controller);
      try {
        // Nothing to do when the cache already holds them all (logitsFor would run the last again).
        // An abort lands between chunks; what was computed before it stays in the cache.
        const computed =
          active.commonPrefix(message.tokens) === message.tokens.length
            ? 0
            : (await active.logitsFor(message.tokens, controller.signal)).computed;
        reply({ type: "prefilled", id: message.id, computed });
      } finally {
        running.delete(message.id);
      }
      return;
    }
    case "profile": {
      if (!session) throw new Error("no model is loaded");
      reply({ type: "profiled", id: message.id, file: session.endProfiling() });
      return;
    }
    case "abort":
      running.get(message.target)?.abort();
      return;
    case "logits": {
      if (!session) throw new Error("no model is loaded");
      const { logits } = await session.logitsFor(message.tokens);
      const copy = Float32Array.from(logits);
      port.postMessage({ type: "logits", id: message.id, logits: copy } satisfies WorkerReply, [copy.buffer]);
      return;
    }
    case "close": {
      // The session's memory is onnxruntime's, not JavaScript's: nothing frees it when the thread
      // ends, so it is released here, after every generation has stopped (one step at most).
      const closing = session;
      session = undefined;
      for (const controller of running.values()) controller.abort();
      await Promise.allSettled([...inFlight]);
      await closing?.close();
      reply({ type: "closed", id: message.id });
      return;
    }
  }
}

port.on("message", (message: WorkerRequest) => {
  const handled = handle(message).catch((error) =>
    reply({ type: "error", id: message.id, error: errorOf(error) }),
  );
  if (message.type === "generate" || message.type === "prefill") {
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  }
});
