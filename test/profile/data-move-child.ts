/**
 * The start that runs a scheduled move of the data folder, in a process of its own, for tests that
 * kill it at a step as a crash would:
 *   node bin/run-ts.js test/profile/data-move-child.ts <app-data folder> <step> [other disk] [same disk]
 * Prints {"reached": step} when the move waits at that step. "same disk" makes every folder one device.
 */
import { applyPendingDataMove } from "../../engine/profile/data-move.ts";

const [base = "", stopAt = "", otherDisk = "", sameDisk = ""] = process.argv.slice(2);
// A promise alone does not keep Node running; the test ends this process with SIGKILL.
setInterval(() => undefined, 1 << 30);

const outcome = await applyPendingDataMove({
  base,
  env: {},
  deviceOf: sameDisk
    ? async () => 1
    : otherDisk
      ? async (path) => (path.startsWith(otherDisk) ? 2 : 1)
      : undefined,
  checkpoint: async (step) => {
    if (step !== stopAt) return;
    process.stdout.write(`${JSON.stringify({ reached: step })}\n`);
    await new Promise(() => undefined);
  },
});
process.stdout.write(`${JSON.stringify({ outcome })}\n`);
process.exit(0);
