/**
 * A small seeded fuzzer: random JSON-like values, structure-aware mutations of valid seeds, byte-level
 * mutations of encoded ones, and a runner that counts what each target accepted or refused and fails
 * on anything that is not an ElmwoodError (a crash) or that takes too long (a hang).
 */
import { isElmwoodError } from "../../../engine/errors.ts";
import { seededRandom } from "../../../engine/runtime/random.ts";

/** A fixed seed gives the same inputs on every run, so a failure can be replayed. */
export { seededRandom };

export type Rng = () => number;

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const int = (rng: Rng, max: number) => Math.floor(rng() * max);

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  2,
  0.5,
  1e-9,
  255,
  256,
  2048,
  2049,
  65_535,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 53) - 10,
  1e308,
  -1e308,
  Number.NaN,
  Number.POSITIVE_INFINITY,
];
const STRINGS = [
  "",
  " ",
  "a",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "\u0000",
  "\ud800",
  "é",
  "🌲",
  "<s>",
  "</s>",
  "../../etc/passwd",
  "F32",
  "BF16",
  "user",
  "system",
  "assistant",
  "chat.send",
  "x".repeat(70),
  "y".repeat(5_000),
];

/** Sets a key as JSON.parse would: an own property even for "__proto__", never the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function randomValue(rng: Rng, depth = 0): unknown {
  const roll = rng();
  if (depth > 3 || roll < 0.15) return pick(rng, [null, true, false]);
  if (roll < 0.35) return rng() < 0.5 ? pick(rng, NUMBERS) : (rng() - 0.5) * 10 ** int(rng, 12);
  if (roll < 0.55)
    return rng() < 0.7
      ? pick(rng, STRINGS)
      : String.fromCharCode(...Array.from({ length: int(rng, 20) }, () => int(rng, 0x3000)));
  if (roll < 0.75) return Array.from({ length: int(rng, 5) }, () => randomValue(rng, depth + 1));
  if (roll < 0.97) {
    const out: Record<string, unknown> = {};
    for (let i = int(rng, 5); i > 0; i--)
      setOwn(out, pick(rng, STRINGS.slice(0, 20)), randomValue(rng, depth + 1));
    return out;
  }
  // Deep nesting, to find recursion without a bound.
  let nested: unknown = pick(rng, [null, 1, "x"]);
  for (let i = 1000 + int(rng, 2000); i > 0; i--) nested = rng() < 0.5 ? [nested] : { a: nested };
  return nested;
}

/** A copy of the containers along the way; leaves (and deep generated values) are shared, not copied. */
function clone<T>(value: T, depth = 0): T {
  if (typeof value !== "object" || value === null || depth > 20) return value;
  if (Array.isArray(value)) return value.map((v) => clone(v, depth + 1)) as T;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) setOwn(copy, k, clone(v, depth + 1));
  return copy as T;
}

/** Containers inside a value, so a mutation can land at any depth. */
function containers(
  value: unknown,
  out: (Record<string, unknown> | unknown[])[] = [],
  depth = 0,
): typeof out {
  if (depth > 50 || typeof value !== "object" || value === null) return out;
  out.push(value as Record<string, unknown>);
  for (const child of Object.values(value)) containers(child, out, depth + 1);
  return out;
}

/** One to three structural changes to a copy of `seed`: replace, delete, add, retype, repeat. */
export function mutateValue(rng: Rng, seed: unknown): unknown {
  let root = clone(seed);
  for (let n = 1 + int(rng, 3); n > 0; n--) {
    const spots = containers(root);
    if (spots.length === 0 || rng() < 0.05) {
      root = randomValue(rng);
      continue;
    }
    const spot = pick(rng, spots);
    const keys = Object.keys(spot);
    const key = keys.length > 0 ? pick(rng, keys) : undefined;
    const op = rng();
    if (Array.isArray(spot)) {
      const i = key === undefined ? 0 : Number(key);
      if (op < 0.4) spot[i] = randomValue(rng);
      else if (op < 0.6) spot.splice(i, 1);
      else if (op < 0.8) spot.push(randomValue(rng));
      else for (let k = 100 + int(rng, 400); k > 0; k--) spot.push(spot[i] ?? 0);
    } else if (key !== undefined && op < 0.35) {
      setOwn(spot, key, randomValue(rng));
    } else if (key !== undefined && op < 0.55) {
      delete spot[key];
    } else if (key !== undefined && op < 0.75) {
      const v = spot[key];
      const retyped =
        typeof v === "string" ? Number(v) || [v] : typeof v === "number" ? String(v) : v === null ? {} : null;
      setOwn(spot, key, retyped);
    } else {
      setOwn(spot, pick(rng, [...STRINGS.slice(0, 12), ...keys.map((k) => `${k}_`)]), randomValue(rng));
    }
  }
  return root;
}

/** Byte-level damage: flips, overwrites, insertions, deletions, truncation, duplication. */
export function mutateBytes(rng: Rng, seed: Uint8Array): Uint8Array<ArrayBuffer> {
  let bytes = Uint8Array.from(seed);
  for (let n = 1 + int(rng, 4); n > 0; n--) {
    const at = bytes.length === 0 ? 0 : int(rng, bytes.length);
    const op = rng();
    if (op < 0.3 && bytes.length > 0) bytes[at] ^= 1 << int(rng, 8);
    else if (op < 0.45 && bytes.length > 0)
      bytes[at] = pick(rng, [0, 0xff, 0x7f, 0x22, 0x5c, 0x7b, 0x5d, int(rng, 256)]);
    else if (op < 0.6) {
      const insert = Uint8Array.from({ length: 1 + int(rng, 16) }, () => int(rng, 256));
      bytes = Uint8Array.from([...bytes.subarray(0, at), ...insert, ...bytes.subarray(at)]);
    } else if (op < 0.75)
      bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + int(rng, 16))]);
    else if (op < 0.88) bytes = bytes.subarray(0, at);
    else
      bytes = Uint8Array.from([
        ...bytes.subarray(0, at),
        ...bytes.subarray(at, at + 32),
        ...bytes.subarray(at),
      ]);
  }
  return bytes;
}

export interface FuzzReport {
  name: string;
  tried: number;
  accepted: number;
  refused: number;
  slowestMs: number;
}

function preview(input: unknown): string {
  if (input instanceof Uint8Array)
    return `${input.length} bytes: ${Buffer.from(input.subarray(0, 120)).toString("hex")}`;
  try {
    return (JSON.stringify(input) ?? String(input)).slice(0, 300);
  } catch {
    return String(input).slice(0, 300);
  }
}

/**
 * Runs `target` on `count` generated inputs. Returning or throwing an ElmwoodError is fine; anything
 * else thrown, or one input taking longer than `maxMs`, fails with the input that did it.
 */
export function fuzz<T>(
  name: string,
  count: number,
  make: (rng: Rng, i: number) => T,
  target: (input: T) => unknown,
  options: { seed?: number; maxMs?: number } = {},
): FuzzReport {
  const rng = seededRandom(options.seed ?? 20_240_601);
  const report: FuzzReport = { name, tried: 0, accepted: 0, refused: 0, slowestMs: 0 };
  for (let i = 0; i < count; i++) {
    const input = make(rng, i);
    const started = performance.now();
    try {
      target(input);
      report.accepted++;
    } catch (error) {
      if (!isElmwoodError(error)) {
        throw new Error(
          `${name}: input #${i} crashed the parser with ${String(error)}; input ${preview(input)}`,
        );
      }
      report.refused++;
    }
    const ms = performance.now() - started;
    report.slowestMs = Math.max(report.slowestMs, ms);
    // A hang detector, not a speed test: generous enough for a loaded CI machine.
    if (ms > (options.maxMs ?? 10_000))
      throw new Error(`${name}: input #${i} took ${ms.toFixed(0)} ms; input ${preview(input)}`);
    report.tried++;
  }
  console.log(
    `fuzz ${name}: ${report.tried} inputs, ${report.accepted} accepted, ${report.refused} refused, slowest ${report.slowestMs.toFixed(1)} ms`,
  );
  return report;
}
