/**
 * `npm start` (and packaging) never reaches electron-vite without Electron's binary: bin/ensure-electron.js
 * runs first, fetches the binary with Electron's own downloader and installer, and when it cannot, says
 * in one line what failed and what to do. No network is needed: downloads go to a local server.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  DESKTOP_NODE,
  electronInstalled,
  electronPackageDir,
  ensureElectron,
  platformPath,
} from "../../bin/ensure-electron.js";

const root = join(import.meta.dirname, "..", "..");
const electronDir = electronPackageDir();
const { version } = JSON.parse(await readFile(join(electronDir, "package.json"), "utf8")) as {
  version: string;
};

/** A copy of Electron's package folder as npm leaves it: no path.txt, no dist. */
async function freshElectronPackage(at: string): Promise<string> {
  const dir = join(at, "electron");
  await mkdir(dir, { recursive: true });
  for (const file of ["package.json", "checksums.json", "install.js"]) {
    await copyFile(join(electronDir, file), join(dir, file));
  }
  return dir;
}

function capture() {
  const chunks: string[] = [];
  const stream = {
    isTTY: false,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
  };
  return { stream, text: () => chunks.join("") };
}

let work: string;
let server: Server | undefined;
const savedEnv = { ...process.env };

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "elmwood-electron-"));
});

afterEach(async () => {
  process.env = { ...savedEnv };
  server?.close();
  server = undefined;
  await rm(work, { recursive: true, force: true });
});

/** A mirror that serves one file (and its checksum list), like Electron's release server. */
async function mirror(files: Record<string, Buffer>): Promise<string> {
  server = createServer((req, res) => {
    const name = decodeURIComponent(req.url?.split("/").at(-1) ?? "");
    const body = files[name];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-length": String(body.length) }).end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe("npm start's path to the desktop app", () => {
  it("runs bin/ensure-electron.js before every script that launches or packages the app", async () => {
    const { scripts } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const launching = Object.entries(scripts).filter(([, command]) =>
      /electron-vite (dev|preview)|electron-builder|(^|\s)electron\s/.test(command),
    );
    expect(launching.map(([name]) => name)).toEqual(expect.arrayContaining(["start", "dist"]));
    for (const [, command] of launching) {
      const steps = command.split("&&").map((step) => step.trim());
      const ensure = steps.indexOf("node bin/ensure-electron.js");
      const launch = steps.findIndex((step) => /electron-vite|electron-builder|^electron\s/.test(step));
      expect(ensure, command).toBeGreaterThanOrEqual(0);
      expect(ensure, command).toBeLessThan(launch);
    }
  });

  it("without the binary and with the download refused, stops with one line saying what to do", async () => {
    const dir = await freshElectronPackage(work);
    // A port nothing listens on: the connection is refused at once.
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    process.env.ELECTRON_MIRROR = `http://127.0.0.1:${port}/`;
    process.env.electron_config_cache = join(work, "cache");
    const out = capture();
    const runInstaller = vi.fn();

    const result = await ensureElectron({ dir, nodeVersion: DESKTOP_NODE, stream: out.stream, runInstaller });

    expect(result.ok).toBe(false);
    expect(result.message).toMatch(
      new RegExp(
        `^Could not download Electron ${version.replace(/\./g, "\\.")}: the connection was refused\\.`,
      ),
    );
    expect(result.message).toContain("ELECTRON_MIRROR");
    expect(result.message).not.toContain("\n");
    expect(runInstaller).not.toHaveBeenCalled();
    expect(electronInstalled(dir)).toBe(false);
  });

  it("downloads the binary with progress and hands it to Electron's installer", async () => {
    const dir = await freshElectronPackage(work);
    const zipName = `electron-v${version}-${process.platform}-${process.arch}.zip`;
    const zip = Buffer.alloc(300_000, 7);
    const sha = createHash("sha256").update(zip).digest("hex");
    process.env.ELECTRON_MIRROR = await mirror({
      [zipName]: zip,
      "SHASUMS256.txt": Buffer.from(`${sha} *${zipName}\n`),
    });
    process.env.electron_config_cache = join(work, "cache");
    process.env.electron_use_remote_checksums = "1";
    const out = capture();
    // Stands in for node_modules/electron/install.js, which unpacks the cached zip (it needs Node 22.12).
    const runInstaller = vi.fn(async (installDir: string) => {
      await mkdir(join(installDir, "dist"), { recursive: true });
      await writeFile(join(installDir, "dist", "version"), version);
      await writeFile(join(installDir, "dist", platformPath()), "");
      await writeFile(join(installDir, "path.txt"), platformPath());
      return { status: 0, stderr: "" };
    });

    const result = await ensureElectron({ dir, nodeVersion: DESKTOP_NODE, stream: out.stream, runInstaller });

    expect(runInstaller).toHaveBeenCalledWith(dir);
    expect(out.text()).toContain(
      `Downloading Electron ${version} for ${process.platform}-${process.arch}: 100%`,
    );
    expect(electronInstalled(dir)).toBe(true);
    expect(result).toEqual({ ok: true });
    // The download landed in @electron/get's cache, where Electron's installer looks first.
    const cached = spawnSync("find", [join(work, "cache"), "-name", zipName], { encoding: "utf8" });
    expect(cached.stdout.trim()).not.toBe("");
  });

  it("on a Node.js older than the desktop tooling needs, says which version to install", async () => {
    const result = await ensureElectron({ dir: electronDir, nodeVersion: "20.19.0" });
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/needs Node\.js 22\.12 or newer.*this is Node\.js 20\.19\.0/);
    expect(result.message).toMatch(/npm test/);
  });

  it("run as npm start runs it, never reaches electron-vite without the binary or a clear line", () => {
    // The real script in this checkout, with downloads sent to a refused port.
    const run = spawnSync(process.execPath, ["bin/ensure-electron.js"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, ELECTRON_MIRROR: "http://127.0.0.1:9/", electron_config_cache: join(work, "c") },
    });
    if (run.status === 0) {
      // A checkout where Electron is installed: it found the binary and printed nothing alarming.
      expect(electronInstalled(electronDir)).toBe(true);
      return;
    }
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^(The desktop app needs Node\.js 22\.12|Could not download Electron)/);
    expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(run.stderr).not.toContain("Electron uninstall");
  });
});
