/**
 * Crash tests run a move in a child process that prints a JSON line `{"reached":"<step>"}` as it
 * passes each step. This starts such a child and resolves once it has reached `step`, so the test can
 * kill it right there (or keep it waiting there); it rejects when the move ends or the child exits first.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export async function spawnUntilStep(args: string[], step: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  try {
    await new Promise<void>((resolve, reject) => {
      lines.on("line", (line) => {
        if (line.includes(`"reached":"${step}"`)) resolve();
        else if (line.startsWith("{")) reject(new Error(`the move ended before ${step}: ${line}`));
      });
      child.once("exit", (code) => reject(new Error(`the child exited (${code}) before ${step}: ${stderr}`)));
    });
  } catch (error) {
    if (child.exitCode === null) child.kill("SIGKILL");
    throw error;
  }
  return child;
}
