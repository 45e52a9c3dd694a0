// Worker entry when Elmwood runs from its TypeScript sources (CLI, tests, server): registers tsx's
// loader in this thread, then starts the embedding worker. Built code starts embed-worker.js directly.
import { register } from "tsx/esm/api";

register();
await import("./embed-worker.ts");
