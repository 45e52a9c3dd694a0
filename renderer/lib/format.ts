/** Numbers as people read them: sizes, speeds, time left, counts. */

const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "about 3 min left", "12 s left"; null when unknown. */
export function formatEta(seconds: number | null): string | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null;
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s left`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min left`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds % 3600) / 60);
  return `about ${hours} h ${minutes} min left`;
}

export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

/** "270M", "1.1B" parameters. */
export function formatParameters(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1).replace(/\.0$/, "")}B`;
  return `${Math.round(count / 1e6)}M`;
}

export function formatSpeed(tokensPerSecond: number): string {
  return `${tokensPerSecond.toFixed(tokensPerSecond >= 10 ? 0 : 1)} tokens/s`;
}

export function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}
