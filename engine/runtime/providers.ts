/**
 * Execution providers: which ones this platform can have, in the order `auto` tries them, and what
 * to tell a person when an explicit choice cannot start.
 */
import { availableParallelism } from "node:os";
import { ElmwoodError } from "../errors.ts";

export type ProviderName = "cpu" | "webgpu" | "cuda" | "dml" | "coreml";
export type ProviderChoice = "auto" | ProviderName;
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ["auto", "cpu", "webgpu", "cuda", "dml", "coreml"];

/** Names a person sees in the status bar. */
export const PROVIDER_LABELS: Record<ProviderName, string> = {
  cpu: "CPU",
  webgpu: "WebGPU",
  cuda: "CUDA",
  dml: "DirectML",
  coreml: "CoreML",
};

/** GPU providers `auto` tries before the CPU, per platform, in order. */
export function gpuCandidates(platform: NodeJS.Platform = process.platform): ProviderName[] {
  switch (platform) {
    case "win32":
      return ["dml", "webgpu"];
    case "darwin":
      // CoreML's operator list has no onnxruntime contrib operators (GroupQueryAttention,
      // MatMulNBits, ...), so under it most of this graph would run on the CPU anyway; WebGPU
      // (Metal underneath) places the whole graph. CoreML stays available as an explicit choice.
      return ["webgpu"];
    default:
      return ["cuda", "webgpu"];
  }
}

/** Whether a provider exists on this platform at all (before trying to start it). */
export function platformHas(provider: ProviderName, platform: NodeJS.Platform = process.platform): boolean {
  switch (provider) {
    case "cpu":
    case "webgpu":
      return true;
    case "cuda":
      return platform === "linux" || platform === "win32";
    case "dml":
      return platform === "win32";
    case "coreml":
      return platform === "darwin";
  }
}

export function parseProviderChoice(value: string | undefined): ProviderChoice {
  const choice = (value ?? "auto").toLowerCase();
  if ((PROVIDER_CHOICES as readonly string[]).includes(choice)) return choice as ProviderChoice;
  throw new ElmwoodError(
    "BAD_INPUT",
    `Unknown provider '${value}'.`,
    `Use one of: ${PROVIDER_CHOICES.join(", ")}.`,
  );
}

/** A clear reason for a provider that failed to start, from onnxruntime's error text. */
export function explainProviderFailure(provider: ProviderName, error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (!platformHas(provider)) return `${PROVIDER_LABELS[provider]} is not available on ${process.platform}`;
  if (provider === "webgpu" && /adapter/i.test(text)) {
    return "no WebGPU adapter was found (no GPU driver that supports Vulkan, Metal or Direct3D 12)";
  }
  if (provider === "cuda" && /(libonnxruntime_providers_cuda|cudart|cublas|cudnn|\.so)/i.test(text)) {
    return "the CUDA provider libraries are not installed (see the README: GPU on Linux with NVIDIA)";
  }
  return `${PROVIDER_LABELS[provider]} failed to start: ${text.split("\n")[0]}`;
}

/** Physical cores are what matmul threads scale with; a guess of half the logical CPUs, at least 1. */
export function defaultThreads(): number {
  const logical = availableParallelism();
  return Math.max(1, logical >= 4 ? Math.floor(logical / 2) : logical);
}
