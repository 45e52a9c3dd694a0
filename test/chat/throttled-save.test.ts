import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ThrottledSave } from "../../engine/chat/throttled-save.ts";

let now = 0;
let saves: number[];
let saver: ThrottledSave;

beforeEach(() => {
  vi.useFakeTimers();
  now = 0;
  saves = [];
  saver = new ThrottledSave(
    () => saves.push(now),
    1000,
    () => now,
  );
});

afterEach(() => {
  saver.cancel();
  vi.useRealTimers();
});

/** Moves the clock and the timers on together. */
function advance(ms: number) {
  now += ms;
  vi.advanceTimersByTime(ms);
}

describe("saving a reply in progress", () => {
  it("saves the first change at once", () => {
    saver.touch();
    expect(saves).toEqual([0]);
  });

  it("saves a stream of changes at most once a second, and each within a second", () => {
    // A token every 50 ms for five seconds.
    for (let t = 0; t < 5000; t += 50) {
      saver.touch();
      advance(50);
    }
    // The last token (at 4950 ms) was saved at 5000 ms; nothing changed after it.
    expect(saves).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    advance(3000);
    expect(saves).toHaveLength(6);
  });

  it("saves a change made just after a save once the second is up, without another change", () => {
    saver.touch();
    advance(100);
    saver.touch();
    advance(899);
    expect(saves).toEqual([0]);
    advance(1);
    expect(saves).toEqual([0, 1000]);
  });

  it("saves nothing more once cancelled", () => {
    saver.touch();
    advance(10);
    saver.touch();
    saver.cancel();
    advance(5000);
    saver.touch();
    expect(saves).toEqual([0]);
  });

  it("keeps going after a save fails", () => {
    let fail = true;
    const tried: number[] = [];
    const flaky = new ThrottledSave(
      () => {
        tried.push(now);
        if (fail) throw new Error("disk full");
      },
      1000,
      () => now,
    );
    flaky.touch();
    fail = false;
    advance(10);
    flaky.touch();
    advance(990);
    expect(tried).toEqual([0, 1000]);
    flaky.cancel();
  });
});
