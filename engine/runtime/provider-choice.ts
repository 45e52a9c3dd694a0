/**
 * Starting a session on an execution provider: an explicit choice either starts or fails with a
 * sentence naming what is missing; `auto` tries this platform's GPU providers and falls back to the
 * CPU, saying why. A GPU adapter `auto` cannot identify (WebGPU on Windows and macOS, DirectML) is
 * measured against the CPU with a short warm-up when the model loads, and the result is remembered
 * per model and machine. A software adapter is never chosen over the CPU.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { cpus, hostname } from "node:os";
import { dirname, join } from "node:path";
import { ElmwoodError } from "../errors.ts";
import { elmwoodPaths } from "../paths.ts";
import { type ModelSource, NativeSession } from "./ort/native-session.ts";
import {
  explainProviderFailure,
  gpuCandidates,
  PROVIDER_LABELS,
  type ProviderChoice,
  type ProviderName,
  platformHas,
} from "./providers.ts";
import { type AdapterKind, describeVulkan, probeVulkan } from "./vulkan-probe.ts";

export interface ActiveProvider {
  name: ProviderName;
  label: string;
  /** Why this provider: chosen explicitly, or what `auto` found. */
  reason: string;
}

export interface StartRequest {
  /** The model graph a provider runs (the CPU has a graph of its own). */
  modelFor: (provider: ProviderName) => Promise<ModelSource>;
  choice: ProviderChoice;
  threads: number;
  adapterKind?: AdapterKind;
  choicesFile?: string;
  /** Identifies the model's weights for remembered choices. */
  modelKey: string;
  /** Decode tokens per second of a started session (for the measured choice). */
  measure: (session: NativeSession) => Promise<number>;
  /** Profile every run of the session that is kept (see NativeSessionOptions.profilePrefix). */
  profilePrefix?: string;
}

interface RememberedChoice {
  provider: ProviderName;
  candidateTokensPerSecond: number;
  cpuTokensPerSecond: number;
  measuredAt: string;
}

/**
 * onnxruntime-node ships without its CUDA provider library (the install script that fetches it is
 * skipped); trying CUDA without it only produces an error, so `auto` looks for the file first.
 */
function cudaLibrariesInstalled(): boolean {
  const packageDir = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  const library =
    process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
  return existsSync(join(packageDir, "bin", "napi-v6", process.platform, process.arch, library));
}

function adapterKindOf(provider: ProviderName, override?: AdapterKind): AdapterKind {
  if (provider === "cpu") return "none";
  if (provider === "cuda") return "hardware"; // CUDA only runs on NVIDIA hardware
  if (override) return override;
  return provider === "webgpu" ? probeVulkan().kind : "unknown";
}

/** Why a provider cannot be used here, before trying it; undefined when it is worth a try. */
function unavailable(provider: ProviderName, auto: boolean, kind: AdapterKind): string | undefined {
  if (!platformHas(provider)) return `${PROVIDER_LABELS[provider]} is not available on ${process.platform}`;
  if (provider === "cuda" && !cudaLibrariesInstalled()) {
    return "the CUDA provider libraries are not installed (see the README: GPU on Linux with NVIDIA)";
  }
  if (provider === "webgpu" && kind === "none") return `no WebGPU adapter: ${describeVulkan(probeVulkan())}`;
  if (provider === "webgpu" && auto && kind === "software") {
    return `${describeVulkan(probeVulkan())}, which is slower than the CPU`;
  }
  return undefined;
}

/**
 * Session configuration entries (none for now). onnxruntime's worker threads spin briefly between
 * operators, its default: measured through the model worker on the 270M shape (6-8 alternating
 * runs, three times), the median decode was 5-40% faster with spinning than without and the best
 * runs were equal; a token's 270-odd operators each wake the second thread, and a sleeping one
 * wakes late.
 */
export const SESSION_CONFIG: Record<string, string> = {};

const create = async (
  model: Promise<ModelSource>,
  provider: ProviderName,
  threads: number,
  profilePrefix?: string,
) => NativeSession.create(await model, { provider, threads, config: SESSION_CONFIG, profilePrefix });

export async function startSession(
  request: StartRequest,
): Promise<{ session: NativeSession; provider: ActiveProvider }> {
  const { modelFor, choice, threads } = request;
  if (choice !== "auto") {
    const kind = adapterKindOf(choice, request.adapterKind);
    const missing = unavailable(choice, false, kind);
    if (missing)
      throw new ElmwoodError(
        "PROVIDER",
        `Cannot start ${PROVIDER_LABELS[choice]}: ${missing}.`,
        "Use --provider auto or cpu.",
      );
    try {
      const session = await create(modelFor(choice), choice, threads, request.profilePrefix);
      const reason =
        kind === "software" ? `chosen explicitly (${describeVulkan(probeVulkan())})` : "chosen explicitly";
      return { session, provider: { name: choice, label: PROVIDER_LABELS[choice], reason } };
    } catch (error) {
      throw new ElmwoodError(
        "PROVIDER",
        `Cannot start ${PROVIDER_LABELS[choice]}: ${explainProviderFailure(choice, error)}.`,
        "Use --provider auto or cpu.",
        { cause: error },
      );
    }
  }

  const skipped: string[] = [];
  for (const candidate of gpuCandidates()) {
    const kind = adapterKindOf(candidate, request.adapterKind);
    const missing = unavailable(candidate, true, kind);
    if (missing) {
      skipped.push(`${PROVIDER_LABELS[candidate]}: ${missing}`);
      continue;
    }
    let session: NativeSession;
    try {
      session = await create(modelFor(candidate), candidate, threads, request.profilePrefix);
    } catch (error) {
      skipped.push(explainProviderFailure(candidate, error));
      continue;
    }
    const label = PROVIDER_LABELS[candidate];
    if (kind === "hardware") {
      return { session, provider: { name: candidate, label, reason: `a GPU was found (${label})` } };
    }
    const verdict = await measuredChoice(request, candidate, session);
    if (verdict.provider === candidate)
      return { session, provider: { name: candidate, label, reason: verdict.reason } };
    session.release();
    skipped.push(verdict.reason);
  }
  const session = await create(modelFor("cpu"), "cpu", threads, request.profilePrefix);
  const reason = skipped.length
    ? `no GPU provider to use (${skipped.join("; ")})`
    : "the CPU is this platform's only provider";
  return { session, provider: { name: "cpu", label: "CPU", reason } };
}

/** Measures (or recalls) whether a GPU provider of unknown kind beats the CPU for this model here. */
async function measuredChoice(
  request: StartRequest,
  candidate: ProviderName,
  session: NativeSession,
): Promise<{ provider: ProviderName; reason: string }> {
  const file = request.choicesFile ?? join(elmwoodPaths().cache, "provider-choices.json");
  const key = [
    request.modelKey,
    candidate,
    hostname(),
    cpus()[0]?.model ?? "",
    `${process.platform}-${process.arch}`,
    process.env.VK_ICD_FILENAMES ?? "",
  ].join("|");
  const label = PROVIDER_LABELS[candidate];
  const choices = await readChoices(file);
  const describe = (c: RememberedChoice) =>
    `${label} ${c.candidateTokensPerSecond.toFixed(1)} tok/s vs CPU ${c.cpuTokensPerSecond.toFixed(1)} tok/s`;
  const known = choices[key];
  if (known)
    return {
      provider: known.provider,
      reason: `remembered from a measurement on ${known.measuredAt.slice(0, 10)}: ${describe(known)}`,
    };

  const candidateSpeed = await request.measure(session);
  const cpu = await create(request.modelFor("cpu"), "cpu", request.threads);
  const cpuSpeed = await request.measure(cpu).finally(() => cpu.release());
  const choice: RememberedChoice = {
    provider: candidateSpeed > cpuSpeed ? candidate : "cpu",
    candidateTokensPerSecond: candidateSpeed,
    cpuTokensPerSecond: cpuSpeed,
    measuredAt: new Date().toISOString(),
  };
  choices[key] = choice;
  await writeChoices(file, choices);
  return { provider: choice.provider, reason: `measured when the model loaded: ${describe(choice)}` };
}

async function readChoices(file: string): Promise<Record<string, RememberedChoice>> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8"));
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {}; // none yet, or unreadable: measure again
  }
}

async function writeChoices(file: string, choices: Record<string, RememberedChoice>): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(choices, null, 2));
  await rename(temp, file);
}
