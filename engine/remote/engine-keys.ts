/**
 * Where remote engines' API keys are kept, apart from everything else: in the desktop app, encrypted
 * with the operating system's keychain (Electron's safeStorage, passed in as a cipher: engine/ never
 * imports electron); elsewhere (`elmwood serve`, the CLI) in a file only its owner may read, as
 * ~/.netrc or an SSH key is. Keys leave these stores only into an Authorization header to the
 * engine they belong to; no door returns them, and no message, log or export contains them.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ElmwoodError } from "../errors.ts";
import type { ElmwoodPaths } from "../paths.ts";
import { writePrivateJson } from "./private-file.ts";

export type KeyStorage = "encrypted" | "file";

export interface EngineKeys {
  readonly storage: KeyStorage;
  get(engine: string): Promise<string | null>;
  set(engine: string, key: string): Promise<void>;
  delete(engine: string): Promise<void>;
}

/** What the desktop app passes: Electron's safeStorage, or anything that encrypts the same way. */
export interface KeyCipher {
  encrypt(plain: string): Buffer;
  decrypt(sealed: Buffer): string;
}

export const KEYS_FILE = "engine-keys.json";
export const ENCRYPTED_KEYS_FILE = "engine-keys.encrypted.json";

const KeysFile = z.object({ version: z.literal(1), keys: z.record(z.string(), z.string()) });
type KeysFile = z.output<typeof KeysFile>;

/** One JSON record of strings by engine, changed one write at a time. */
class KeyFile {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly what: string,
  ) {}

  async read(): Promise<KeysFile> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return { version: 1, keys: {} };
      throw new ElmwoodError(
        "DISK",
        `Could not read ${this.what} (${this.path}): ${(error as Error).message}.`,
      );
    }
    const parsed = KeysFile.safeParse(
      (() => {
        try {
          return JSON.parse(text);
        } catch {
          return undefined;
        }
      })(),
    );
    if (!parsed.success) {
      throw new ElmwoodError(
        "DISK",
        `${this.path} is damaged, so the engines' API keys cannot be read.`,
        "Delete it, then set each engine's key again in Settings → Engines.",
      );
    }
    return parsed.data;
  }

  change(edit: (keys: Record<string, string>) => void): Promise<void> {
    const next = this.queue.then(async () => {
      const file = await this.read();
      edit(file.keys);
      await writePrivateJson(this.path, file, this.what);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** Keys in plain text in a file readable by its owner only. */
export function fileKeys(paths: Pick<ElmwoodPaths, "home">): EngineKeys {
  const file = new KeyFile(join(paths.home, KEYS_FILE), "the API keys");
  return {
    storage: "file",
    get: async (engine) => (await file.read()).keys[engine] ?? null,
    set: (engine, key) =>
      file.change((keys) => {
        keys[engine] = key;
      }),
    delete: (engine) =>
      file.change((keys) => {
        delete keys[engine];
      }),
  };
}

/** Keys sealed by `cipher` (the system keychain through safeStorage), in an owner-only file. */
export function encryptedKeys(paths: Pick<ElmwoodPaths, "home">, cipher: KeyCipher): EngineKeys {
  const file = new KeyFile(join(paths.home, ENCRYPTED_KEYS_FILE), "the encrypted API keys");
  return {
    storage: "encrypted",
    async get(engine) {
      const sealed = (await file.read()).keys[engine];
      if (sealed === undefined) return null;
      try {
        return cipher.decrypt(Buffer.from(sealed, "base64"));
      } catch (error) {
        throw new ElmwoodError(
          "DISK",
          `The API key of '${engine}' could not be decrypted (${(error as Error).message}).`,
          "The system keychain may have changed: set the key again in Settings → Engines.",
          { cause: error },
        );
      }
    },
    async set(engine, key) {
      const sealed = cipher.encrypt(key).toString("base64");
      await file.change((keys) => {
        keys[engine] = sealed;
      });
    },
    delete: (engine) =>
      file.change((keys) => {
        delete keys[engine];
      }),
  };
}
