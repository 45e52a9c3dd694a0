/**
 * Runs inside a fresh network namespace (`unshare -n`, as root) for test/privacy/offline.test.ts:
 *  1. brings up loopback and puts each resolver address of /etc/resolv.conf on it, answered by a DNS
 *     logger (UDP and TCP port 53) that records every name asked for and refuses to answer;
 *  2. checks the harness can see what it looks for: a lookup from a traced child must reach the
 *     logger and show up as a connect() to the resolver;
 *  3. starts `elmwood serve` under `strace -f` (every process and thread it starts is traced), runs a
 *     first session through it (model load, chat, search, summary), then leaves it idle;
 *  4. prints one JSON line: the names looked up and every connect()/sendto()/sendmsg() beyond loopback.
 *
 * Usage: offline-driver.ts HOME_DIR DOCS_DIR MODEL IDLE_MS
 */
import { execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnServe } from "../server/serve-process.ts";
import { exerciseServer } from "./scenario.ts";

const [home, docs, model, idleMs] = process.argv.slice(2);
const queries: { name: string; via: string }[] = [];

/** The question's name in a DNS message (labels from byte 12), or "?" when it is malformed. */
function questionName(message: Buffer): string {
  const labels: string[] = [];
  let at = 12;
  while (at < message.length && message[at] !== 0 && labels.length < 64) {
    const length = message[at];
    labels.push(message.subarray(at + 1, at + 1 + length).toString("latin1"));
    at += length + 1;
  }
  return labels.join(".") || "?";
}

/** The query sent back with QR set and RCODE REFUSED: nothing is ever resolved. */
function refusal(message: Buffer): Buffer {
  const answer = Buffer.from(message);
  if (answer.length >= 4) {
    answer[2] |= 0x80;
    answer[3] = (answer[3] & 0xf0) | 5;
  }
  return answer;
}

async function startResolverLogger(address: string): Promise<void> {
  const udp = createSocket(address.includes(":") ? "udp6" : "udp4");
  udp.on("message", (message, peer) => {
    queries.push({ name: questionName(message), via: "udp" });
    udp.send(refusal(message), peer.port, peer.address);
  });
  udp.bind(53, address);
  await once(udp, "listening");
  const tcp = createServer((socket) => {
    socket.once("data", (data) => {
      queries.push({ name: questionName(data.subarray(2)), via: "tcp" });
      socket.destroy();
    });
  });
  tcp.listen(53, address);
  await once(tcp, "listening");
}

function resolverAddresses(): string[] {
  return readFileSync("/etc/resolv.conf", "utf8")
    .split("\n")
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((address): address is string => Boolean(address));
}

/** strace following every process and thread, logging the calls that reach a network peer. */
const TRACE = ["-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg"];

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** connect()/sendto()/sendmsg() calls in an strace log that name an address beyond loopback. */
function outboundCalls(log: string): string[] {
  const calls: string[] = [];
  for (const line of log.split("\n")) {
    if (!/\b(connect|sendto|sendmsg|sendmmsg)\(/.test(line)) continue;
    for (const match of line.matchAll(/inet_(?:addr|pton)\((?:AF_INET6?, )?"([^"]+)"/g)) {
      if (!LOOPBACK.test(match[1])) calls.push(line.trim());
    }
  }
  return calls;
}

const step = (what: string) => process.stderr.write(`offline-driver: ${what}\n`);

async function main(): Promise<void> {
  execFileSync("ip", ["link", "set", "lo", "up"]);
  // A default route into a veth pair that leads nowhere, so the namespace looks like a machine on a
  // network (software may check for a route before it tries) while no packet can leave it.
  execFileSync("ip", ["link", "add", "elmwood0", "type", "veth", "peer", "name", "elmwood1"]);
  execFileSync("ip", ["link", "set", "elmwood0", "up"]);
  execFileSync("ip", ["link", "set", "elmwood1", "up"]);
  execFileSync("ip", ["addr", "add", "10.203.0.2/24", "dev", "elmwood0"]);
  execFileSync("ip", ["route", "add", "default", "via", "10.203.0.1"]);
  const resolvers = resolverAddresses();
  for (const address of resolvers) {
    if (!LOOPBACK.test(address)) {
      execFileSync("ip", [address.includes(":") ? "-6" : "-4", "addr", "add", address, "dev", "lo"]);
    }
    await startResolverLogger(address);
  }
  step(`resolvers ${resolvers.join(", ")} answered by the logger`);
  const work = await mkdtemp(join(tmpdir(), "elmwood-offline-"));

  // The harness sees a lookup: a traced child asks for a name; the logger and strace must both see it.
  const canaryLog = join(work, "canary.strace");
  const canaryName = "elmwood-canary.invalid";
  // Asynchronously: the logger answers from this process's event loop.
  const lookup = `require("dns").lookup(${JSON.stringify(canaryName)}, () => {})`;
  const canaryChild = spawn("strace", [...TRACE, "-o", canaryLog, process.execPath, "-e", lookup], {
    stdio: "ignore",
  });
  await once(canaryChild, "exit");
  const canary = {
    logged: queries.some((q) => q.name === canaryName),
    traced:
      outboundCalls(readFileSync(canaryLog, "utf8")).length > 0 || resolvers.every((r) => LOOPBACK.test(r)),
  };
  queries.length = 0;
  step(`canary ${JSON.stringify(canary)}`);

  const straceLog = join(work, "serve.strace");
  // Started as from a person's shell: without the variable this driver's own launcher sets.
  const env = { ELMWOOD_HOME: home, ORT_DISABLE_TELEMETRY: undefined };
  const serve = await spawnServe(["--provider", "cpu", "--threads", "1"], env, {
    prefix: ["strace", ...TRACE, "-o", straceLog],
  });
  step("server started");
  let scenario = "ok";
  try {
    await exerciseServer(serve, model, docs);
    step("scenario done; idle");
    // Uploaders wake a few seconds after a model loads: stay idle as a person would.
    await new Promise((resolve) => setTimeout(resolve, Number(idleMs)));
  } catch (error) {
    scenario = error instanceof Error ? error.message : String(error);
  } finally {
    // The child is strace; the server is strace's child, which must get the SIGTERM a person sends.
    const tracer = serve.child.pid ?? 0;
    const children = readFileSync(`/proc/${tracer}/task/${tracer}/children`, "utf8").trim().split(/\s+/);
    for (const pid of children.filter(Boolean)) process.kill(Number(pid), "SIGTERM");
    await serve.exited;
  }
  const log = readFileSync(straceLog, "utf8");
  process.stdout.write(
    `${JSON.stringify({
      resolvers,
      canary,
      scenario,
      tracedProcesses: new Set(
        log
          .split("\n")
          .map((line) => line.split(" ")[0])
          .filter(Boolean),
      ).size,
      lookups: queries,
      outbound: outboundCalls(log),
    })}\n`,
  );
}

await main();
process.exit(0);
