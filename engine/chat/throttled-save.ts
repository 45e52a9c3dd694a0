/**
 * Saves a reply in progress as it streams without writing the database at every token: the first
 * change is saved at once, later ones at most once per interval, and every change is saved within
 * one interval of being made. A save that fails (a full disk, say) is tried again at the next
 * change; the reply itself goes on, and its final save reports any lasting problem.
 */
export class ThrottledSave {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly save: () => void,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Something changed: make sure it is saved within the interval. */
  touch(): void {
    if (this.stopped || this.timer !== undefined) return;
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.run();
    }, wait);
  }

  /** No more saves (the reply is finished and saved another way). */
  cancel(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    this.last = this.now();
    try {
      this.save();
    } catch {
      // Kept for the next change; see above.
    }
  }
}
