/**
 * The project's npm setup: no dependency install script runs on any supported npm (onnxruntime-node's
 * downloads CUDA from NuGet and fails offline), and npm prints no warning about the project's config on
 * every command.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

/** npm as the test was started by (`npm test`), else the one on PATH. */
function npm(args: string[]) {
  // npm hands its config to scripts as npm_config_* variables; a child npm would read them back and
  // report the parent's settings rather than what .npmrc says.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)),
  ) as NodeJS.ProcessEnv;
  const execPath = process.env.npm_execpath;
  return execPath?.endsWith(".js")
    ? run(process.execPath, [execPath, ...args], { env })
    : run(process.platform === "win32" ? "npm.cmd" : "npm", args, {
        env,
        shell: process.platform === "win32",
      });
}

describe("npm configuration", () => {
  it("turns dependency install scripts off through a setting npm knows, without a warning", async () => {
    const { stdout, stderr } = await npm(["config", "get", "ignore-scripts", "--location=project"]);
    expect(stdout.trim()).toBe("true");
    expect(stderr).not.toMatch(/Unknown (project )?config/i);
  });

  it("denies, in allowScripts, every dependency in the lockfile that has an install script", async () => {
    const pkg = JSON.parse(await readFile("package.json", "utf8")) as {
      allowScripts?: Record<string, boolean>;
    };
    const lock = JSON.parse(await readFile("package-lock.json", "utf8")) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length));
    expect(withScripts).toContain("onnxruntime-node");
    for (const name of new Set(withScripts)) expect(pkg.allowScripts?.[name], name).toBe(false);
  });
});
