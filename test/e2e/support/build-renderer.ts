/**
 * The end-to-end tests drive the built page. Build it when out/renderer is missing or older than any
 * file under renderer/ (a fresh clone, or an edit since the last build), with Vite directly so only
 * the renderer is built.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

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

export async function ensureRendererBuilt(): Promise<void> {
  if (rendererIsFresh()) return;
  const { build } = await import("vite");
  await build({
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
