/**
 * Appends tensors to an ONNX external data file, hashing as it writes. Large tensors start on a
 * 64 KiB boundary: onnxruntime memory-maps external data whose offsets are aligned to the platform's
 * allocation granularity (64 KiB on Windows, a page elsewhere) instead of copying it.
 */
import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import type { ExternalLocation } from "../onnx/graph-builder.ts";

const ALIGNMENT = 64 * 1024;

export class ExternalDataWriter {
  private offset = 0;
  private readonly hash: Hash = createHash("sha256");

  private constructor(
    private readonly file: FileHandle,
    private readonly location: string,
  ) {}

  static async create(path: string, location: string): Promise<ExternalDataWriter> {
    return new ExternalDataWriter(await open(path, "w"), location);
  }

  async append(bytes: Uint8Array): Promise<ExternalLocation> {
    const padding = (ALIGNMENT - (this.offset % ALIGNMENT)) % ALIGNMENT;
    if (padding > 0) await this.write(new Uint8Array(padding));
    const at = this.offset;
    await this.write(bytes);
    return { location: this.location, offset: at, length: bytes.byteLength };
  }

  private async write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.byteLength) {
      const { bytesWritten } = await this.file.write(
        bytes,
        written,
        bytes.byteLength - written,
        this.offset + written,
      );
      written += bytesWritten;
    }
    this.hash.update(bytes);
    this.offset += bytes.byteLength;
  }

  /** Flushes to disk and returns the file's size and sha256. */
  async close(): Promise<{ bytes: number; sha256: string }> {
    await this.file.sync();
    await this.file.close();
    return { bytes: this.offset, sha256: this.hash.digest("hex") };
  }

  async abandon(): Promise<void> {
    await this.file.close().catch(() => {});
  }
}
