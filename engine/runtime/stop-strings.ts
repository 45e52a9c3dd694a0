/**
 * Streams text while watching for stop strings. Text that could still turn into a stop string is
 * held back until it cannot, so a stop string never flashes on screen and is never part of a reply.
 */
export class StopStringFilter {
  private pending = "";
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  get hit(): boolean {
    return this.stopped;
  }

  /** Adds decoded text; returns the part that is safe to show now. */
  push(text: string): string {
    if (this.stopped) return "";
    this.pending += text;
    let cut = -1;
    for (const stop of this.stops) {
      if (!stop) continue;
      const at = this.pending.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = "";
      return out;
    }
    const hold = this.heldBack();
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** At the end of generation nothing can complete a stop string any more. */
  flush(): string {
    const out = this.stopped ? "" : this.pending;
    this.pending = "";
    return out;
  }

  /** The longest tail of pending text that is a proper prefix of some stop string. */
  private heldBack(): number {
    let hold = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.pending.length); n > hold; n--) {
        if (this.pending.endsWith(stop.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    return hold;
  }
}
