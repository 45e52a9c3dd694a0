/**
 * The local API's own settings (on or off, port, bearer token, network opt-in), kept in the profile
 * folder as api.json, readable by its owner only since it holds the token. The desktop app's Settings
 * and `elmwood serve --api` read the same record, so the token shown in one works with the other.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ElmwoodError } from "../errors.ts";
import { type ElmwoodPaths, elmwoodPaths } from "../paths.ts";

/** The loopback server's port unless told otherwise (`elmwood serve`, and with --api the API too). */
export const DEFAULT_PORT = 4861;
/** The API's own port when Settings turns it on, so it can run beside `elmwood serve`. */
export const DEFAULT_API_PORT = 4862;

/** 192 random bits, URL-safe (it travels once in a URL in browser mode). */
export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

/** A token a person chose (ELMWOOD_API_TOKEN): long enough to resist guessing, safe in a header. */
export function checkChosenToken(token: string, source: string): string {
  if (!/^[\x21-\x7e]{16,256}$/.test(token)) {
    throw new ElmwoodError(
      "BAD_INPUT",
      `${source} must be 16 to 256 visible ASCII characters without spaces.`,
      "Choose a longer random token, or unset it to let Elmwood make one.",
    );
  }
  return token;
}

export const ApiSettings = z.object({
  /** Off by default: nothing listens until the person turns it on. */
  enabled: z.boolean(),
  port: z.number().int().min(1).max(65_535),
  token: z.string().regex(/^[\x21-\x7e]{16,256}$/),
  /** Listen beyond 127.0.0.1 (the person opted in). */
  allowRemote: z.boolean(),
});
export type ApiSettings = z.output<typeof ApiSettings>;
export const ApiSettingsPatch = ApiSettings.omit({ token: true }).partial().strict();
export type ApiSettingsPatch = z.output<typeof ApiSettingsPatch>;

const fileOf = (paths: ElmwoodPaths) => join(paths.home, "api.json");

async function write(paths: ElmwoodPaths, settings: ApiSettings): Promise<void> {
  await mkdir(paths.home, { recursive: true });
  const file = fileOf(paths);
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new ElmwoodError(
      "DISK",
      `Could not save the API settings: ${(error as Error).message}.`,
      undefined,
      {
        cause: error,
      },
    );
  }
}

async function read(paths: ElmwoodPaths): Promise<ApiSettings | undefined> {
  let text: string;
  try {
    text = await readFile(fileOf(paths), "utf8");
  } catch {
    return undefined;
  }
  try {
    return ApiSettings.parse(JSON.parse(text));
  } catch {
    // A damaged record is replaced (with a fresh token) rather than keeping the API unusable.
    return undefined;
  }
}

/** The stored settings; the first read creates them (off, default port, a new token). */
export async function loadApiSettings(paths: ElmwoodPaths = elmwoodPaths()): Promise<ApiSettings> {
  const stored = await read(paths);
  if (stored) return stored;
  await write(paths, { enabled: false, port: DEFAULT_API_PORT, token: newToken(), allowRemote: false });
  // Two processes creating it at once: both go on with whichever write landed last.
  return (await read(paths)) as ApiSettings;
}

export async function updateApiSettings(
  patch: ApiSettingsPatch,
  paths: ElmwoodPaths = elmwoodPaths(),
): Promise<ApiSettings> {
  const parsed = ApiSettingsPatch.safeParse(patch);
  if (!parsed.success) {
    throw new ElmwoodError("BAD_INPUT", `Invalid API settings: ${parsed.error.issues[0].message}.`);
  }
  const next = { ...(await loadApiSettings(paths)), ...parsed.data };
  await write(paths, next);
  return next;
}

/** A new token; the old one stops working the next time the server starts. */
export async function regenerateApiToken(paths: ElmwoodPaths = elmwoodPaths()): Promise<ApiSettings> {
  const next = { ...(await loadApiSettings(paths)), token: newToken() };
  await write(paths, next);
  return next;
}

/** ELMWOOD_API_TOKEN wins over the stored token when it is set. */
export async function resolveApiToken(
  paths: ElmwoodPaths = elmwoodPaths(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const chosen = env.ELMWOOD_API_TOKEN;
  if (chosen !== undefined && chosen !== "") return checkChosenToken(chosen, "ELMWOOD_API_TOKEN");
  return (await loadApiSettings(paths)).token;
}
