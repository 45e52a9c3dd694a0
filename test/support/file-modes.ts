/**
 * Starting a child process that file modes apply to, for tests of what happens on a file it may not
 * read. As root every file is readable, so there the child keeps uid 0 (it can still reach the checkout,
 * wherever it was cloned) but loses the two capabilities that override file modes, through util-linux's
 * setpriv. Where setpriv is missing, it runs as 'nobody' instead, if that user can start the CLI from
 * this checkout (a clone under /root or in a private temp folder it cannot).
 */
import { execFile, type SpawnOptions } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const NOBODY = 65534;
const OVERRIDES = "-dac_override,-dac_read_search";

export interface Launcher {
  /** The command and arguments that run `command args` this way. */
  wrap(command: string, args: string[]): [string, string[]];
  /** Extra spawn options (the uid and gid to run as). */
  options: Pick<SpawnOptions, "uid" | "gid">;
  /** Whether files the test shares with the child must be open to other users. */
  asOtherUser: boolean;
}

/** The child as this process would start it. */
export const DIRECT: Launcher = { wrap: (command, args) => [command, args], options: {}, asOtherUser: false };

function exitsWith(command: string, args: string[], options: Pick<SpawnOptions, "uid" | "gid"> = {}) {
  return new Promise<number>((done) => {
    execFile(command, args, { ...options, timeout: 60_000 }, (error) =>
      done(error ? (typeof error.code === "number" ? error.code : 1) : 0),
    );
  });
}

/** Finds a way to run a child that a mode-000 file is closed to; says why when there is none. */
export async function modeBoundLauncher(
  cli = resolve("bin/elmwood.js"),
): Promise<Launcher | { unavailable: string }> {
  if (process.getuid?.() !== 0) return DIRECT;
  const probeDir = await mkdtemp(join(tmpdir(), "elmwood-modes-"));
  try {
    const closed = join(probeDir, "closed");
    await writeFile(closed, "x");
    await chmod(closed, 0o000);
    const setprivArgs = (command: string, args: string[]) => [
      `--inh-caps=${OVERRIDES}`,
      `--bounding-set=${OVERRIDES}`,
      "--",
      command,
      ...args,
    ];
    // Exit code 3 when the read is refused with EACCES: setpriv works here and the caps are gone.
    const probe = [
      "-e",
      `try { require("fs").readFileSync(${JSON.stringify(closed)}); process.exit(0) } catch (e) { process.exit(e.code === "EACCES" ? 3 : 1) }`,
    ];
    if ((await exitsWith("setpriv", setprivArgs(process.execPath, probe))) === 3) {
      return {
        wrap: (command, args) => ["setpriv", setprivArgs(command, args)],
        options: {},
        asOtherUser: false,
      };
    }
    const asNobody = { uid: NOBODY, gid: NOBODY };
    if ((await exitsWith(process.execPath, [cli, "--help"], asNobody)) === 0) {
      return { ...DIRECT, options: asNobody, asOtherUser: true };
    }
    return {
      unavailable:
        "as root, setpriv (util-linux) is missing or cannot drop capabilities here, and the user 'nobody' cannot reach this checkout",
    };
  } finally {
    await rm(probeDir, { recursive: true, force: true });
  }
}
