/** Small JSON files only their owner may read (mode 0600), replaced atomically: write a sibling, rename. */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { ElmwoodError } from "../errors.ts";

export async function writePrivateJson(path: string, value: unknown, what: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    // A new file each time, so the mode applies (writeFile's mode is ignored for an existing file).
    await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new ElmwoodError(
      "DISK",
      `Could not save ${what}: ${(error as Error).message}.`,
      "Check the free space and permissions of the profile folder.",
      { cause: error },
    );
  }
}
