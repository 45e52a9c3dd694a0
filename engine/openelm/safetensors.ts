/**
 * Reading safetensors files: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw data. The header is checked strictly (any byte string
 * yields an ElmwoodError, never a crash), and tensors are read one at a time at their offsets so a
 * multi-gigabyte file is never held in one buffer.
 */
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { ElmwoodError } from "../errors.ts";

/** Bytes per element of every dtype the format defines; only the float ones can be converted. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

export type FloatDtype = "F32" | "F16" | "BF16";

export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype === "F32" || dtype === "F16" || dtype === "BF16";
}

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute position of the first byte in the file. */
  offset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In file order. */
  tensors: SafetensorsTensor[];
  /** Where the data section starts (8 + header length). */
  dataStart: number;
  fileSize: number;
}

/** The format's own limit; a larger header means a damaged or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;
const MAX_RANK = 16;
/** One read call moves at most this much; the OS may return less. */
const READ_CHUNK = 1 << 30;

function damaged(source: string, problem: string): ElmwoodError {
  return new ElmwoodError(
    "CHECKPOINT",
    `${source} is not a valid safetensors file: ${problem}`,
    "Download the checkpoint again; the file may be truncated or damaged.",
  );
}

/** The header length from the file's first 8 bytes, checked against the file's size. */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (prefix.length < 8 || fileSize < 8)
    throw damaged(source, "it is shorter than the 8-byte header length.");
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length < 2n) throw damaged(source, `the header length is ${length} bytes.`);
  if (length > BigInt(MAX_HEADER_BYTES))
    throw damaged(source, `the header claims ${length} bytes (limit 100 MB).`);
  if (length > BigInt(fileSize - 8)) {
    throw damaged(
      source,
      `the header claims ${length} bytes but the file has only ${fileSize - 8} after the length.`,
    );
  }
  return Number(length);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Parses and checks the JSON header (the bytes after the 8-byte length). */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  fileSize: number,
  source: string,
): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  const dataLength = fileSize - dataStart;
  if (dataLength < 0) throw damaged(source, "the header runs past the end of the file.");

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw damaged(source, `the header is not UTF-8 JSON (${(error as Error).message}).`);
  }
  if (!isRecord(json)) throw damaged(source, "the header is not a JSON object.");

  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isRecord(entry)) throw damaged(source, '"__metadata__" is not an object.');
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== "string") throw damaged(source, `metadata "${key}" is not a string.`);
        metadata[key] = value;
      }
      continue;
    }
    tensors.push(parseEntry(name, entry, dataStart, dataLength, source));
  }

  const byStart = [...tensors].sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  for (let i = 1; i < byStart.length; i++) {
    const before = byStart[i - 1];
    if (byStart[i].offset < before.offset + before.byteLength) {
      throw damaged(source, `tensors "${before.name}" and "${byStart[i].name}" overlap.`);
    }
  }
  return { metadata, tensors, dataStart, fileSize };
}

function parseEntry(
  name: string,
  entry: unknown,
  dataStart: number,
  dataLength: number,
  source: string,
): SafetensorsTensor {
  if (name.length === 0) throw damaged(source, "a tensor has an empty name.");
  if (!isRecord(entry)) throw damaged(source, `tensor "${name}" is not described by an object.`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw damaged(source, `tensor "${name}" has an unknown dtype ${JSON.stringify(dtype) ?? "(none)"}.`);
  }
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every(isCount)) {
    throw damaged(source, `tensor "${name}" has a shape that is not a list of non-negative integers.`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw damaged(source, `tensor "${name}" has data_offsets that are not two non-negative integers.`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    throw damaged(
      source,
      `tensor "${name}" has data_offsets [${begin}, ${end}] outside the ${dataLength}-byte data.`,
    );
  }
  // Multiply step by step so an absurd shape stops at the data size instead of overflowing.
  let bytes = DTYPE_BYTES[dtype];
  for (const dim of shape as number[]) {
    bytes *= dim;
    if (bytes > dataLength) break;
  }
  if (bytes !== end - begin) {
    throw damaged(
      source,
      `tensor "${name}" (${dtype} [${(shape as number[]).join(", ")}]) needs ${bytes} bytes but data_offsets span ${end - begin}.`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], offset: dataStart + begin, byteLength: end - begin };
}

/** Parses a whole safetensors file held in memory (small files and tests). */
export function parseSafetensorsBytes(bytes: Uint8Array, source: string): SafetensorsHeader {
  const length = parseHeaderLength(bytes, bytes.length, source);
  return parseSafetensorsHeader(bytes.subarray(8, 8 + length), bytes.length, source);
}

/** Reads exactly byteLength bytes at position into target (or a new buffer). */
export async function readExactly(
  handle: FileHandle,
  position: number,
  byteLength: number,
  source: string,
  target: Uint8Array = new Uint8Array(byteLength),
): Promise<Uint8Array> {
  let done = 0;
  while (done < byteLength) {
    const { bytesRead } = await handle.read(
      target,
      done,
      Math.min(READ_CHUNK, byteLength - done),
      position + done,
    );
    if (bytesRead === 0) throw damaged(source, `it ended early (wanted ${byteLength} bytes at ${position}).`);
    done += bytesRead;
  }
  return target;
}

/** Reads and checks the header of an open file. */
export async function readSafetensorsHeaderFrom(
  handle: FileHandle,
  source: string,
): Promise<SafetensorsHeader> {
  const { size } = await handle.stat();
  const prefix = await readExactly(handle, 0, Math.min(8, size), source);
  const length = parseHeaderLength(prefix, size, source);
  const header = await readExactly(handle, 8, length, source);
  return parseSafetensorsHeader(header, size, source);
}

/** Reads and checks the header of a file on disk. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await open(path, "r");
  try {
    return await readSafetensorsHeaderFrom(handle, path);
  } finally {
    await handle.close();
  }
}

let halfTable: Float32Array | undefined;

/** Every fp16 bit pattern's value, built once: a lookup beats bit twiddling per element. */
function fp16Table(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) table[bits] = mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else table[bits] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  halfTable = table;
  return table;
}

/** Little-endian 16-bit words of bytes, copying only when the bytes are not 2-aligned. */
function words(bytes: Uint8Array): Uint16Array {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}

/** Converts raw little-endian tensor bytes to float32 (the platforms Electron ships on are little-endian). */
export function toFloat32(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  if (dtype === "F32") {
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  }
  const input = words(bytes);
  const out = new Float32Array(input.length);
  if (dtype === "BF16") {
    // bf16 is the top half of an fp32.
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < input.length; i++) outBits[i] = input[i] << 16;
  } else {
    const table = fp16Table();
    for (let i = 0; i < input.length; i++) out[i] = table[input[i]];
  }
  return out;
}

/** Reads one tensor from an open file and converts it to float32. */
export async function readFloat32Tensor(
  handle: FileHandle,
  tensor: { offset: number; byteLength: number; dtype: FloatDtype },
  source: string,
): Promise<Float32Array> {
  if (tensor.dtype === "F32") {
    // Read straight into the result's memory: no second copy of a large tensor.
    const out = new Float32Array(tensor.byteLength / 4);
    await readExactly(handle, tensor.offset, tensor.byteLength, source, new Uint8Array(out.buffer));
    return out;
  }
  const bytes = await readExactly(handle, tensor.offset, tensor.byteLength, source);
  return toFloat32(bytes, tensor.dtype);
}
