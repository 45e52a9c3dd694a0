/**
 * Which Node.js each part of Elmwood needs, checked where it matters with one clear line.
 *
 * The engine, the CLI, browser mode and the tests run on Node.js 20.19 or newer (package.json
 * `engines`). The desktop app's tooling needs 22.12: Electron 45 and its downloader declare it, and the
 * downloader is an ES module that Electron's installer loads with require().
 */

/** Whether version "a.b.c" is at least "x.y.z". */
export function meetsVersion(version, minimum) {
  const have = version.split(".").map(Number);
  const need = minimum.split(".").map(Number);
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) !== need[i]) return (have[i] ?? 0) > need[i];
  }
  return true;
}

export const ENGINE_NODE = "20.19.0";

export function describeNodeRequirement(version) {
  return (
    `The desktop app needs Node.js 22.12 or newer (Electron 45 and its downloader require it); this is Node.js ${version}. ` +
    "Install Node.js 22 LTS or newer and run the command again. The CLI (npx elmwood), browser mode (npm run serve) " +
    "and the tests (npm test) also run on Node.js 20.19."
  );
}

/** For the CLI: exits with one line when this Node.js is older than the engine needs. */
export function requireEngineNode(version = process.versions.node) {
  if (meetsVersion(version, ENGINE_NODE)) return;
  process.stderr.write(
    `Elmwood needs Node.js 20.19 or newer; this is Node.js ${version}. Install Node.js 22 LTS and run the command again.\n`,
  );
  process.exit(1);
}
