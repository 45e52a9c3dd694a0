/** The conversation list grouped by the day each was last used: Today, Yesterday, weekdays, dates. */

export interface DayGroup<T> {
  label: string;
  items: T[];
}

const DAY_MS = 86_400_000;

function startOfDay(ms: number): number {
  const date = new Date(ms);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

/** The heading for a day, relative to `now`, in the person's own locale. */
export function dayLabel(ms: number, now: number, locale?: string): string {
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / DAY_MS);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  const date = new Date(ms);
  if (days < 7) return date.toLocaleDateString(locale, { weekday: "long" });
  const sameYear = date.getFullYear() === new Date(now).getFullYear();
  return date.toLocaleDateString(locale, {
    day: "numeric",
    month: "long",
    ...(sameYear ? {} : { year: "numeric" }),
  });
}

/** Newest first; one group per day, in order. */
export function groupByDay<T extends { updatedAt: number }>(
  items: readonly T[],
  now: number,
  locale?: string,
): DayGroup<T>[] {
  const sorted = [...items].sort((a, b) => b.updatedAt - a.updatedAt);
  const groups: DayGroup<T>[] = [];
  for (const item of sorted) {
    const label = dayLabel(item.updatedAt, now, locale);
    const last = groups.at(-1);
    if (last?.label === label) last.items.push(item);
    else groups.push({ label, items: [item] });
  }
  return groups;
}
