/** Parsing of CLI option values, each failure one clear line that names the option. */
import { ElmwoodError } from "../errors.ts";

export function numberOption(
  value: string | undefined,
  option: string,
  fallback: number,
  rules: { integer?: boolean; min?: number; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const { integer, min, max } = rules;
  if (
    value.trim() === "" ||
    !Number.isFinite(n) ||
    (integer && !Number.isInteger(n)) ||
    (min !== undefined && n < min) ||
    (max !== undefined && n > max)
  ) {
    const kind = integer ? "a whole number" : "a number";
    const bound =
      min !== undefined && max !== undefined
        ? ` from ${min} to ${max}`
        : min !== undefined
          ? ` of at least ${min}`
          : max !== undefined
            ? ` of at most ${max}`
            : "";
    throw new ElmwoodError(
      "BAD_INPUT",
      `${option} must be ${kind}${bound} (got '${value}').`,
      `Fix ${option} and try again.`,
    );
  }
  return n;
}

/** "1,2,3" -> [1, 2, 3], every id checked against the vocabulary. */
export function parseTokenList(text: string, vocabSize: number): number[] {
  const parts = text.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === "")) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `--tokens must be comma-separated token ids (got '${text}').`,
      "Example: --tokens 1,15043,3186",
    );
  }
  return parts.map((p) => {
    const id = Number(p);
    if (!Number.isInteger(id) || !/^\d+$/.test(p)) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `'${p}' is not a token id.`,
        "Token ids are whole numbers, e.g. --tokens 1,15043,3186",
      );
    }
    if (id >= vocabSize) {
      throw new ElmwoodError(
        "BAD_INPUT",
        `Token id ${id} is out of range.`,
        `Token ids go from 0 to ${vocabSize - 1}.`,
      );
    }
    return id;
  });
}
