/**
 * The end-to-end tests drive the built page. Build it when out/renderer is missing or older than any
 * file under renderer/ (a fresh clone, or an edit since the last build), with Vite directly so only
 * the renderer is built.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const root = resolve(import.meta.dirname, "../../..");
export const RENDERER_OUT = join(root, "out/renderer");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function rendererIsFresh(): boolean {
  const index = join(RENDERER_OUT, "index.html");
  if (!existsSync(index)) return false;
  const sources = Math.max(
    newestMtime(join(root, "renderer")),
    newestMtime(join(root, "engine/api")),
    statSync(join(root, "package-lock.json")).mtimeMs,
  );
  return statSync(index).mtimeMs >= sources;
}

/** Test files run in parallel workers: one builds while the others wait for it. */
const LOCK = join(root, "out/.renderer-build.lock");
const STALE_LOCK_MS = 180_000;

async function takeLock(): Promise<boolean> {
  await mkdir(join(root, "out"), { recursive: true });
  try {
    await mkdir(LOCK);
    return true;
  } catch {
    const age = Date.now() - (await stat(LOCK).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    // A builder that died left its lock behind.
    if (age > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true });
    return false;
  }
}

export async function ensureRendererBuilt(): Promise<void> {
  while (!rendererIsFresh()) {
    if (!(await takeLock())) {
      await sleep(250);
      continue;
    }
    try {
      if (!rendererIsFresh()) await buildRenderer();
    } finally {
      await rm(LOCK, { recursive: true, force: true });
    }
  }
}

async function buildRenderer(): Promise<void> {
  const { build } = await import("vite");
  // The test runner sets NODE_ENV=test, which would give React's development build.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await buildWith(build);
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

async function buildWith(build: typeof import("vite").build): Promise<void> {
  await build({
    mode: "production",
    configFile: false,
    root: join(root, "renderer"),
    base: "./",
    logLevel: "warn",
    build: {
      outDir: RENDERER_OUT,
      emptyOutDir: true,
      rollupOptions: {
        input: join(root, "renderer/index.html"),
        onwarn(warning, warn) {
          // Radix marks its modules "use client" for React Server Components; a browser bundle ignores it.
          if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
          warn(warning);
        },
      },
    },
  });
}
