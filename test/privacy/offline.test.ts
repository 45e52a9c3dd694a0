/**
 * Nothing leaves the machine: `elmwood serve` in a loopback-only network namespace, where the
 * resolver address from /etc/resolv.conf is answered by a logger, loads a model, chats, searches and
 * summarizes, then stays idle for 15 seconds; no name is looked up and no connection is attempted
 * beyond loopback by any process it starts (traced with strace -f). onnxruntime's telemetry uploader
 * wakes a few seconds after a model loads, which is why the test waits.
 *
 * Needs root (for the namespace), unshare and strace; elsewhere it is skipped with the reason, and
 * under CI=true (which runs as root with .ci/run's packages) it fails instead.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODEL, makeServiceFixture, type ServiceFixture } from "../service/fixture.ts";
import { writeDocuments } from "./scenario.ts";

const IDLE_MS = 15_000;

function whyUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces are Linux only";
  if (process.getuid?.() !== 0) return "creating a network namespace needs root";
  if (spawnSync("strace", ["-V"]).status !== 0) return "strace is not installed (apt-get install strace)";
  if (spawnSync("ip", ["-V"]).status !== 0) return "ip is not installed (apt-get install iproute2)";
  const probe = spawnSync("unshare", ["-n", "true"]);
  if (probe.status !== 0)
    return `unshare -n failed: ${probe.stderr?.toString().trim() || probe.error?.message}`;
  return undefined;
}

const unavailable = whyUnavailable();
const required = process.env.CI === "true";

describe("offline: what Elmwood sends with no remote engine configured", () => {
  if (unavailable && !required) {
    it.skip(`skipped: ${unavailable}`, () => {});
    return;
  }

  let fx: ServiceFixture;
  let docs: string;

  beforeAll(async () => {
    expect(unavailable, unavailable).toBeUndefined();
    fx = await makeServiceFixture({ withModel: true });
    docs = join(fx.home, "..", "docs");
    await writeDocuments(docs);
  }, 300_000);

  afterAll(async () => {
    await fx?.cleanup();
  });

  it("looks up no name and connects nowhere beyond loopback, through a session and 15 s idle", async () => {
    const child = spawn(
      "unshare",
      [
        "-n",
        process.execPath,
        "bin/run-ts.js",
        "test/privacy/offline-driver.ts",
        fx.home,
        docs,
        MODEL,
        String(IDLE_MS),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const [code] = await once(child, "exit");
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
      canary: { logged: boolean; traced: boolean };
      scenario: string;
      tracedProcesses: number;
      lookups: { name: string }[];
      outbound: string[];
    };
    // The harness would have seen a lookup and a connection had there been one.
    expect(report.canary).toEqual({ logged: true, traced: true });
    expect(report.scenario).toBe("ok");
    expect(report.tracedProcesses).toBeGreaterThan(0);
    expect(report.lookups).toEqual([]);
    expect(report.outbound).toEqual([]);
  }, 180_000);
});
