/**
 * What WebGPU would run on, on Linux, read from the Vulkan setup without starting it: whether the
 * Vulkan loader is installed, and which drivers (ICDs) it would load. onnxruntime's WebGPU provider
 * (Dawn) cannot tell us the adapter it picked, and a software driver (SwiftShader, Mesa's lavapipe,
 * common on desktop Linux) is far slower than the CPU provider, so `auto` must never choose it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

export type AdapterKind = "hardware" | "software" | "none" | "unknown";

export interface VulkanSetup {
  loader: boolean;
  drivers: { manifest: string; library: string; software: boolean }[];
  kind: AdapterKind;
}

const SOFTWARE_DRIVER = /swiftshader|lvp|lavapipe|llvmpipe|softpipe/i;

const LIBRARY_DIRS = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/local/lib",
];

const MANIFEST_DIRS = ["/usr/local/share/vulkan/icd.d", "/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"];

function loaderInstalled(env: NodeJS.ProcessEnv, libraryDirs: readonly string[]): boolean {
  const dirs = [...(env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean), ...libraryDirs];
  return dirs.some((dir) => existsSync(join(dir, "libvulkan.so.1")));
}

function manifestFiles(env: NodeJS.ProcessEnv): string[] {
  // The loader honours these variables instead of the system folders when they are set.
  const explicit = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  if (explicit) return explicit.split(":").filter(Boolean);
  const dirs = [
    ...(env.XDG_DATA_HOME ? [join(env.XDG_DATA_HOME, "vulkan/icd.d")] : []),
    ...(env.XDG_DATA_DIRS ?? "")
      .split(":")
      .filter(Boolean)
      .map((d) => join(d, "vulkan/icd.d")),
    ...MANIFEST_DIRS,
  ];
  const files = new Set<string>();
  for (const dir of dirs) {
    try {
      for (const name of readdirSync(dir)) if (name.endsWith(".json")) files.add(join(dir, name));
    } catch {
      // a folder that does not exist holds no drivers
    }
  }
  return [...files];
}

function driverOf(manifest: string): VulkanSetup["drivers"][number] | undefined {
  try {
    const json = JSON.parse(readFileSync(manifest, "utf8")) as { ICD?: { library_path?: string } };
    const library = json.ICD?.library_path ?? "";
    return {
      manifest,
      library,
      software: SOFTWARE_DRIVER.test(library) || SOFTWARE_DRIVER.test(basename(manifest)),
    };
  } catch {
    return undefined;
  }
}

/**
 * Mesa installs its Intel and AMD driver manifests whatever the machine has, so a hardware driver
 * only counts when there is a GPU device node for it to open (DRM render node, NVIDIA, or WSL's dxg).
 */
function gpuDevicePresent(): boolean {
  try {
    if (readdirSync("/dev/dri").some((name) => name.startsWith("renderD"))) return true;
  } catch {
    // no DRM devices
  }
  return existsSync("/dev/nvidia0") || existsSync("/dev/dxg");
}

/** The parts of the machine the probe looks at, replaceable in tests. */
export interface VulkanSystem {
  hasGpuDevice: () => boolean;
  libraryDirs: readonly string[];
}

const THIS_MACHINE: VulkanSystem = { hasGpuDevice: gpuDevicePresent, libraryDirs: LIBRARY_DIRS };

export function probeVulkan(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
  system: Partial<VulkanSystem> = {},
): VulkanSetup {
  if (platform !== "linux") return { loader: true, drivers: [], kind: "unknown" };
  const { hasGpuDevice, libraryDirs } = { ...THIS_MACHINE, ...system };
  const loader = loaderInstalled(env, libraryDirs);
  const drivers = manifestFiles(env)
    .map(driverOf)
    .filter((d): d is NonNullable<typeof d> => d !== undefined);
  let kind: AdapterKind = "none";
  if (loader && drivers.some((d) => !d.software) && hasGpuDevice()) kind = "hardware";
  else if (loader && drivers.some((d) => d.software)) kind = "software";
  return { loader, drivers, kind };
}

/** A sentence for why WebGPU was or was not used, from the probe. */
export function describeVulkan(setup: VulkanSetup): string {
  if (!setup.loader) return "the Vulkan loader (libvulkan.so.1) is not installed";
  if (setup.drivers.length === 0) return "no Vulkan driver is installed";
  const named = (software: boolean) =>
    setup.drivers
      .filter((d) => d.software === software)
      .map((d) => basename(d.library || d.manifest))
      .join(", ");
  if (setup.kind === "software") return `the only Vulkan adapter is a software one (${named(true)})`;
  if (setup.kind === "none") return "no Vulkan adapter was found";
  return `Vulkan drivers: ${named(false)}`;
}
