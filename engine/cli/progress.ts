/** Terminal progress on stderr, and Ctrl+C as cancellation rather than a kill. */
import { cancelled } from "../errors.ts";

let lastDraw = 0;

/** Redraws one progress line at most a few times a second (stderr only, stdout stays clean). */
export function progressLine(label: string, done: number, total: number): void {
  const now = performance.now();
  if (now - lastDraw < 100 && done < total) return;
  lastDraw = now;
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : 0;
  if (process.stderr.isTTY) process.stderr.write(`\r${label} ${pct.toFixed(0).padStart(3)}%`);
  else if (done >= total) process.stderr.write(`${label} 100%\n`);
}

/** An AbortSignal that fires on the first Ctrl+C; a second Ctrl+C exits at once. */
export function abortOnSigint(): AbortSignal {
  const controller = new AbortController();
  process.once("SIGINT", () => {
    process.stderr.write("\ncancelling... (Ctrl+C again to quit now)\n");
    controller.abort(cancelled());
    process.once("SIGINT", () => process.exit(130));
  });
  return controller.signal;
}
