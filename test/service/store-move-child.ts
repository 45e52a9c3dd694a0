/**
 * One move of the model store in a process of its own, for tests that kill it at a step as a crash
 * would: node bin/run-ts.js test/service/store-move-child.ts <home> <destination> <step> [otherDisk]
 * Prints {"reached": step} when the move waits at that step, and the move's end if it gets there.
 */

import { elmwoodPaths } from "../../engine/paths.ts";
import { ElmwoodService } from "../../engine/service.ts";
import type { MoveStep } from "../../models/index.ts";

const [home = "", destination = "", stopAt = "", otherDisk = ""] = process.argv.slice(2);
// A promise alone does not keep Node running; the test ends this process with SIGKILL.
setInterval(() => undefined, 1 << 30);

const service = new ElmwoodService({
  paths: elmwoodPaths(home),
  storeMove: {
    checkpoint: async (step: MoveStep) => {
      if (step !== stopAt) return;
      process.stdout.write(`${JSON.stringify({ reached: step })}\n`);
      await new Promise(() => undefined);
    },
    deviceOf: otherDisk ? async (path) => (path.startsWith(otherDisk) ? 2 : 1) : undefined,
  },
});
service.on("storage.progress", ({ event }) => {
  if (event.type !== "progress") process.stdout.write(`${JSON.stringify(event)}\n`);
});
await service.call("storage.moveModels", { path: destination });
