#!/usr/bin/env node
/**
 * Runs before anything that launches or packages the desktop app (`npm start`, `npm run dist`).
 *
 * Electron 45 has no install script: its binary is fetched the first time `require("electron")` runs
 * or by its `install-electron` command, and electron-vite does neither. It reads
 * node_modules/electron/path.txt and throws "Electron uninstall" when that is missing, so a fresh
 * clone could not start. This script checks the Node.js version the desktop tooling needs, then makes
 * sure the binary is there: it downloads Electron's zip with Electron's own downloader (@electron/get,
 * same cache, same checksums as Electron's installer) while showing progress, and lets Electron's
 * installer (node_modules/electron/install.js) unpack it and write path.txt. Any failure is one line
 * saying what failed and what to do, never a stack trace.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describeNodeRequirement, meetsVersion } from "./node-version.js";

/** What Electron 45 and @electron/get declare in their `engines` fields. */
export const DESKTOP_NODE = "22.12.0";

const require = createRequire(import.meta.url);

/** Electron's package folder as npm installed it. */
export function electronPackageDir() {
  return join(require.resolve("electron/package.json"), "..");
}

/** Where Electron's binary lives inside its dist folder on a platform (as Electron's installer says). */
export function platformPath(platform = process.platform) {
  switch (platform) {
    case "darwin":
    case "mas":
      return "Electron.app/Contents/MacOS/Electron";
    case "win32":
      return "electron.exe";
    default:
      return "electron";
  }
}

/** The same test Electron's installer makes: the version, path.txt and the binary all match. */
export function electronInstalled(dir, env = process.env, platform = process.platform) {
  try {
    const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    if (readFileSync(join(dir, "dist", "version"), "utf8").replace(/^v/, "") !== version) return false;
    if (readFileSync(join(dir, "path.txt"), "utf8") !== platformPath(platform)) return false;
  } catch {
    return false;
  }
  const binary = env.ELECTRON_OVERRIDE_DIST_PATH ?? join(dir, "dist", platformPath(platform));
  return existsSync(binary);
}

function resolveDownloader(dir) {
  try {
    return createRequire(join(dir, "package.json")).resolve("@electron/get");
  } catch {
    return require.resolve("@electron/get");
  }
}

/** One sentence for why a download failed, from fetch's and @electron/get's errors. */
export function describeDownloadError(error) {
  const cause = error?.cause ?? error;
  const code = cause?.code ?? error?.code;
  const host = cause?.hostname;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `the host ${host ?? "of the download"} could not be resolved (no network, or DNS is blocked)`;
  if (code === "ECONNREFUSED") return "the connection was refused";
  if (code === "ECONNRESET") return "the connection was reset";
  if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return "the connection timed out";
  if (typeof code === "string" && /CERT|SSL|TLS/.test(code))
    return `the TLS certificate was refused (${code}; a proxy that intercepts TLS needs its certificate in NODE_EXTRA_CA_CERTS)`;
  if (error?.name === "HTTPError" && error.response) return `the server answered ${error.response.status}`;
  if (/checksum/i.test(error?.message ?? "")) return "the downloaded file did not match Electron's checksum";
  const message = (cause?.message ?? error?.message ?? String(error)).split("\n")[0];
  return message === "fetch failed" ? "the download failed" : message;
}

/** A progress line on a terminal, a line every 10% elsewhere (CI logs stay short). */
function progressReporter(label, stream) {
  let lastDecile = -1;
  return ({ transferred, total, percent }) => {
    const mb = (bytes) => (bytes / 1e6).toFixed(0);
    const size = total ? `${mb(transferred)} of ${mb(total)} MB` : `${mb(transferred)} MB`;
    const line = `${label}: ${Math.floor(percent * 100)}% (${size})`;
    if (stream.isTTY) {
      stream.write(`\r${line}`);
      if (percent >= 1) stream.write("\n");
    } else {
      const decile = Math.floor(percent * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${line}\n`);
      }
    }
  };
}

/**
 * Makes sure the desktop app can start. Returns { ok: true } when Electron's binary is there (or was
 * fetched now), otherwise { ok: false, message } with the one line to print.
 */
export async function ensureElectron({
  dir = electronPackageDir(),
  nodeVersion = process.versions.node,
  env = process.env,
  platform = process.platform,
  arch = process.arch,
  stream = process.stderr,
  runInstaller = (installDir) =>
    spawnSync(process.execPath, [join(installDir, "install.js")], { env, encoding: "utf8" }),
} = {}) {
  if (!meetsVersion(nodeVersion, DESKTOP_NODE)) {
    return { ok: false, message: describeNodeRequirement(nodeVersion) };
  }
  if (electronInstalled(dir, env, platform)) return { ok: true };

  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const label = `Downloading Electron ${version} for ${platform}-${arch}`;
  stream.write(`Electron's binary is not installed yet (once per checkout).\n`);
  let downloadArtifact;
  try {
    // Imported here: only a missing binary needs the downloader (an ES module). It is Electron's
    // dependency, so it is resolved from Electron's folder first.
    ({ downloadArtifact } = await import(pathToFileURL(resolveDownloader(dir)).href));
  } catch (error) {
    return {
      ok: false,
      message: `Electron's downloader (@electron/get) could not be loaded (${describeDownloadError(error)}). Run npm install, then try again.`,
    };
  }
  try {
    await downloadArtifact({
      version,
      artifactName: "electron",
      platform,
      arch,
      // The same options as Electron's installer, so it finds this download in the cache.
      force: env.force_no_cache === "true",
      cacheRoot: env.electron_config_cache,
      checksums:
        env.electron_use_remote_checksums || env.npm_config_electron_use_remote_checksums
          ? undefined
          : JSON.parse(readFileSync(join(dir, "checksums.json"), "utf8")),
      downloadOptions: { quiet: true, getProgressCallback: progressReporter(label, stream) },
    });
  } catch (error) {
    return {
      ok: false,
      message:
        `Could not download Electron ${version}: ${describeDownloadError(error)}. ` +
        "Check the network connection (behind a proxy: set ELECTRON_GET_USE_PROXY=1 and HTTPS_PROXY; " +
        "to download from a mirror: set ELECTRON_MIRROR), then run the command again.",
    };
  }
  const installed = await runInstaller(dir);
  if (installed.status !== 0 || !electronInstalled(dir, env, platform)) {
    const reason = `${installed.stderr ?? ""}`.trim().split("\n")[0] || `exit code ${installed.status}`;
    return {
      ok: false,
      message: `Electron ${version} was downloaded but could not be unpacked into ${dir} (${reason}). Delete node_modules/electron, run npm install, then try again.`,
    };
  }
  stream.write(`Electron ${version} is installed.\n`);
  return { ok: true };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await ensureElectron();
  if (!result.ok) {
    process.stderr.write(`${result.message}\n`);
    process.exitCode = 1;
  }
}
