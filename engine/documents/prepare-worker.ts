/**
 * The worker-thread side of the prepare pool: loads the tokenizer once and prepares files on request.
 * Messages in: { id, request, options }; out: { id, result }.
 */
import { parentPort } from "node:worker_threads";
import { type PrepareOptions, type PrepareRequest, prepareFile } from "./prepare.ts";
import { llamaTokenCounter } from "./tokens.ts";

interface Job {
  id: number;
  request: PrepareRequest;
  options: PrepareOptions;
}

const countTokens = llamaTokenCounter();
const port = parentPort;
if (!port) throw new Error("prepare-worker.ts must run in a worker thread");

port.on("message", async (job: Job) => {
  const result = await prepareFile(job.request, job.options, countTokens);
  port.postMessage({ id: job.id, result });
});
port.postMessage({ ready: true });
