/**
 * Three bundles for the desktop app: main (Node, ESM), preload (sandboxed, so CommonJS) and the renderer
 * (a plain web page). Engine code is bundled into main; native add-ons stay outside the bundle because
 * they load .node binaries relative to their own package folder.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "electron-vite";

const root = import.meta.dirname;
const { version } = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8")) as { version: string };

export default defineConfig({
  main: {
    build: {
      // Every runtime dependency stays a require at run time; the native ones must.
      externalizeDeps: { include: ["onnxruntime-node", "libsql", "koffi"] },
      // The model and the document preparer run in worker threads; they are bundled beside index.js
      // under the names the engine looks for when it is not running from TypeScript sources.
      lib: {
        entry: {
          index: resolve(root, "main/index.ts"),
          "model-worker": resolve(root, "engine/runtime/model-worker.ts"),
          "prepare-worker": resolve(root, "engine/documents/prepare-worker.ts"),
          // The embedding model's worker (search by meaning), likewise.
          "embed-worker": resolve(root, "engine/documents/embedding/embed-worker.ts"),
        },
      },
    },
  },
  preload: {
    // A sandboxed preload cannot be an ES module: Electron loads it with its own CommonJS shim.
    build: {
      lib: { entry: resolve(root, "main/preload/index.ts"), formats: ["cjs"] },
      rollupOptions: { output: { entryFileNames: "[name].cjs" } },
    },
    define: { __ELMWOOD_VERSION__: JSON.stringify(version) },
  },
  renderer: {
    root: resolve(root, "renderer"),
    build: {
      // Served to a browser in browser mode too: keep it small.
      minify: "esbuild",
      // One bundle loaded from disk (or loopback): React, Markdown and zod make ~660 kB, which is fine here.
      chunkSizeWarningLimit: 1024,
      rollupOptions: {
        input: resolve(root, "renderer/index.html"),
        onwarn(warning, warn) {
          // Radix marks its modules "use client" for React Server Components; meaningless in a bundle.
          if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
          warn(warning);
        },
      },
    },
  },
});
