/**
 * The remote engines the person added, kept in the profile as engines.json: address, name, the
 * window to assume, the models as last listed, and which remote model (if any) is the default. No
 * key is in it (engine-keys.ts keeps those). Written atomically, one change at a time in a process;
 * the desktop app, `elmwood serve` and the CLI read the same file. A file that cannot be read is set
 * aside (engines.json.damaged-<time>), never overwritten, and the problem is reported.
 */
import { readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { EngineName, ErrorInfo } from "../api/contract.ts";
import { ElmwoodError } from "../errors.ts";
import type { ElmwoodPaths } from "../paths.ts";
import { writePrivateJson } from "./private-file.ts";

export const ENGINES_FILE = "engines.json";

const StoredModel = z.object({
  id: z.string().min(1),
  contextLength: z.number().int().positive().nullable(),
});

export const EngineRecord = z.object({
  name: EngineName,
  baseUrl: z.string().url(),
  addedAt: z.number().int(),
  contextLength: z.number().int().positive().nullable(),
  /** Where the key is kept; null: none is sent. */
  keyStorage: z.enum(["encrypted", "file"]).nullable(),
  models: z.array(StoredModel),
  checkedAt: z.number().int().nullable(),
  error: ErrorInfo.nullable(),
});
export type EngineRecord = z.output<typeof EngineRecord>;

const EnginesFile = z.object({
  version: z.literal(1),
  engines: z.array(EngineRecord),
  /** A remote model chosen as the default model (`<engine>/<id>`); null: the library's default. */
  defaultModel: z.string().nullable(),
});
export type EnginesFile = z.output<typeof EnginesFile>;

const EMPTY: EnginesFile = { version: 1, engines: [], defaultModel: null };

export class EngineStore {
  private queue: Promise<unknown> = Promise.resolve();
  /** Why the file could not be read, once it was set aside. */
  private damaged: string | null = null;

  constructor(private readonly paths: Pick<ElmwoodPaths, "home">) {}

  private get file(): string {
    return join(this.paths.home, ENGINES_FILE);
  }

  /** What the last read had to set aside, for the Engines settings to say. */
  get problem(): string | null {
    return this.damaged;
  }

  async read(): Promise<EnginesFile> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return structuredClone(EMPTY);
      throw new ElmwoodError(
        "DISK",
        `Could not read the engines file (${this.file}): ${(error as Error).message}.`,
        "Check the profile folder's permissions.",
        { cause: error },
      );
    }
    let parsed: EnginesFile;
    try {
      parsed = EnginesFile.parse(JSON.parse(text));
    } catch (error) {
      const aside = `${this.file}.damaged-${Date.now()}`;
      await rename(this.file, aside).catch(() => undefined);
      const why = error instanceof z.ZodError ? "its contents are not what Elmwood wrote" : "it is not JSON";
      this.damaged = `The engines file could not be read (${why}); it was kept as ${aside}. Add the engines again.`;
      return structuredClone(EMPTY);
    }
    return parsed;
  }

  /** A read-modify-write, after every earlier one in this process. */
  change<T>(edit: (file: EnginesFile) => T | Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      const file = await this.read();
      const result = await edit(file);
      await this.write(file);
      return result;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private write(file: EnginesFile): Promise<void> {
    return writePrivateJson(this.file, file, "the engines");
  }
}
