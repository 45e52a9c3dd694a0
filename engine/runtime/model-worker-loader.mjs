// Worker entry when Elmwood runs from its TypeScript sources (CLI, tests, server): registers tsx's
// loader in this thread, then starts the model worker. Built code starts model-worker.js directly.
import { register } from "tsx/esm/api";

register();
await import("./model-worker.ts");
