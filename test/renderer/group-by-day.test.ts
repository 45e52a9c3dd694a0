import { describe, expect, it } from "vitest";
import { dayLabel, groupByDay } from "../../renderer/conversations/group-by-day.ts";

const now = new Date(2025, 4, 15, 10, 0).getTime(); // Thursday 15 May 2025, 10:00
const at = (day: number, hour = 9) => new Date(2025, 4, day, hour).getTime();

describe("conversations grouped by day", () => {
  it("names today, yesterday, this week's weekdays and older dates", () => {
    expect(dayLabel(at(15, 8), now, "en-GB")).toBe("Today");
    expect(dayLabel(at(14, 23), now, "en-GB")).toBe("Yesterday");
    expect(dayLabel(at(12), now, "en-GB")).toBe("Monday");
    expect(dayLabel(at(2), now, "en-GB")).toBe("2 May");
    expect(dayLabel(new Date(2024, 11, 31).getTime(), now, "en-GB")).toBe("31 December 2024");
  });

  it("puts the newest first, one group per day", () => {
    const groups = groupByDay(
      [
        { id: "a", updatedAt: at(14) },
        { id: "b", updatedAt: at(15, 9) },
        { id: "c", updatedAt: at(15, 7) },
      ],
      now,
      "en-GB",
    );
    expect(groups.map((g) => [g.label, g.items.map((i) => i.id)])).toEqual([
      ["Today", ["b", "c"]],
      ["Yesterday", ["a"]],
    ]);
  });
});
