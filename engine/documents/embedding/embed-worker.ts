/**
 * The worker thread that embeds document chunks while the index is built: onnxruntime-node runs a
 * batch synchronously on the calling thread (hundreds of milliseconds for 32 chunks), so it runs here,
 * off the event loop of the app, the server and the CLI. Messages in: load, embed. Out: loaded,
 * vectors (one flat Float32Array per batch, transferred), error.
 */
import { parentPort } from "node:worker_threads";
import { isElmwoodError } from "../../errors.ts";
import type { EmbedReply, EmbedRequest } from "./embed-protocol.ts";
import { OnnxEmbedder } from "./embedder.ts";

if (!parentPort) throw new Error("embed-worker.ts must run in a worker thread");
const port = parentPort;
let embedder: OnnxEmbedder | undefined;

const errorOf = (error: unknown) =>
  isElmwoodError(error)
    ? { code: error.code, message: error.message, hint: error.hint }
    : { code: "INTERNAL" as const, message: error instanceof Error ? error.message : String(error) };

port.on("message", async (message: EmbedRequest) => {
  const reply = (answer: EmbedReply, transfer: ArrayBuffer[] = []) => port.postMessage(answer, transfer);
  try {
    if (message.type === "load") {
      embedder = await OnnxEmbedder.load(message.dir, message.options);
      reply({ type: "loaded", dims: embedder.dims, maxTokens: embedder.maxTokens });
      return;
    }
    const model = embedder;
    if (!model) throw new Error("no embedding model is loaded");
    const vectors = await model.embed(message.texts);
    const flat = new Float32Array(vectors.length * model.dims);
    for (const [i, v] of vectors.entries()) flat.set(v, i * model.dims);
    reply({ type: "vectors", id: message.id, data: flat }, [flat.buffer]);
  } catch (error) {
    reply({ type: "error", id: message.type === "embed" ? message.id : undefined, error: errorOf(error) });
  }
});
