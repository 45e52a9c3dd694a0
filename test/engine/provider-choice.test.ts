import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ModelSession } from "../../engine/runtime/model-session.ts";
import { parseProviderChoice } from "../../engine/runtime/providers.ts";
import { probeVulkan } from "../../engine/runtime/vulkan-probe.ts";
import { type EngineFixture, makeEngineFixture } from "../support/engine-fixtures.ts";

const SWIFTSHADER = "/usr/lib/chromium/vk_swiftshader_icd.json";
const swiftshader = existsSync(SWIFTSHADER) || process.env.CI === "true";
const savedIcd = process.env.VK_ICD_FILENAMES;

let fx: EngineFixture;
let scratch: string;
beforeAll(async () => {
  fx = await makeEngineFixture(["int4"]);
  scratch = await mkdtemp(join(tmpdir(), "elmwood-providers-"));
});
afterAll(async () => {
  await fx?.cleanup();
  await rm(scratch, { recursive: true, force: true });
});
afterEach(() => {
  if (savedIcd === undefined) delete process.env.VK_ICD_FILENAMES;
  else process.env.VK_ICD_FILENAMES = savedIcd;
});

describe("choosing the provider", () => {
  it.runIf(swiftshader)("auto never picks a software Vulkan adapter over the CPU, and says so", async () => {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER;
    const session = await ModelSession.load(fx.models.int4, { threads: 1 });
    try {
      expect(session.provider.name).toBe("cpu");
      expect(session.provider.reason).toMatch(
        /WebGPU: the only Vulkan adapter is a software one \(libvk_swiftshader\.so\)/,
      );
    } finally {
      await session.close();
    }
  });

  it.runIf(swiftshader)(
    "an adapter auto cannot identify is measured against the CPU once, then remembered",
    async () => {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER;
      const choicesFile = join(scratch, "choices.json");
      const options = { threads: 1, adapterKind: "unknown" as const, choicesFile };
      const first = await ModelSession.load(fx.models.int4, options);
      await first.close();
      // SwiftShader runs on the CPU through Vulkan: slower than the CPU provider itself.
      expect(first.provider.name).toBe("cpu");
      expect(first.provider.reason).toMatch(
        /measured when the model loaded: WebGPU [\d.]+ tok\/s vs CPU [\d.]+ tok\/s/,
      );
      const remembered = Object.values(JSON.parse(await readFile(choicesFile, "utf8"))) as {
        provider: string;
      }[];
      expect(remembered.map((r) => r.provider)).toEqual(["cpu"]);

      const second = await ModelSession.load(fx.models.int4, options);
      await second.close();
      expect(second.provider.name).toBe("cpu");
      expect(second.provider.reason).toMatch(/remembered from a measurement on \d{4}-\d\d-\d\d/);
    },
  );

  it("an explicit WebGPU without any adapter fails with what is missing", async () => {
    process.env.VK_ICD_FILENAMES = join(scratch, "no-such-driver.json");
    await expect(ModelSession.load(fx.models.int4, { provider: "webgpu" })).rejects.toThrow(
      /Cannot start WebGPU: no WebGPU adapter: .*(no Vulkan|Vulkan loader)/,
    );
  });

  it("an explicit CUDA without its libraries says they are not installed", async () => {
    await expect(ModelSession.load(fx.models.int4, { provider: "cuda" })).rejects.toThrow(
      /CUDA provider libraries are not installed/,
    );
  });

  it.runIf(process.platform === "linux")("DirectML and CoreML are refused on Linux by name", async () => {
    await expect(ModelSession.load(fx.models.int4, { provider: "dml" })).rejects.toThrow(
      /DirectML is not available on linux/,
    );
    await expect(ModelSession.load(fx.models.int4, { provider: "coreml" })).rejects.toThrow(
      /CoreML is not available on linux/,
    );
  });

  it("an unknown provider name lists the choices", () => {
    expect(() => parseProviderChoice("gpu")).toThrow(
      expect.objectContaining({ hint: "Use one of: auto, cpu, webgpu, cuda, dml, coreml." }),
    );
  });
});

describe("reading the Vulkan setup", () => {
  async function setup(drivers: Record<string, string>, withLoader = true) {
    const root = await mkdtemp(join(scratch, "vk-"));
    const lib = join(root, "lib");
    await mkdir(lib);
    if (withLoader) await writeFile(join(lib, "libvulkan.so.1"), "");
    const manifests = await Promise.all(
      Object.entries(drivers).map(async ([name, library]) => {
        const file = join(root, `${name}.json`);
        await writeFile(
          file,
          JSON.stringify({ file_format_version: "1.0.0", ICD: { library_path: library } }),
        );
        return file;
      }),
    );
    return { LD_LIBRARY_PATH: lib, VK_ICD_FILENAMES: manifests.join(":") };
  }
  // Only the test's folders count as system library folders, whatever this machine has installed.
  const noDevice = { hasGpuDevice: () => false, libraryDirs: [] };
  const device = { hasGpuDevice: () => true, libraryDirs: [] };

  it("only software drivers: software", async () => {
    const env = await setup({
      lvp: "libvulkan_lvp.so",
      swiftshader: "/usr/lib/chromium/libvk_swiftshader.so",
    });
    expect(probeVulkan(env, "linux", device).kind).toBe("software");
  });

  it("a hardware driver and a GPU device: hardware", async () => {
    const env = await setup({ nvidia: "libGLX_nvidia.so.0", lvp: "libvulkan_lvp.so" });
    expect(probeVulkan(env, "linux", device).kind).toBe("hardware");
  });

  it("Mesa's hardware manifests without a GPU device do not count", async () => {
    const env = await setup({ intel: "libvulkan_intel.so", lvp: "libvulkan_lvp.so" });
    expect(probeVulkan(env, "linux", noDevice).kind).toBe("software");
  });

  it("no loader: none, whatever the drivers", async () => {
    const env = await setup({ nvidia: "libGLX_nvidia.so.0" }, false);
    const probed = probeVulkan(env, "linux", device);
    expect(probed.loader).toBe(false);
    expect(probed.kind).toBe("none");
  });

  it("other platforms cannot be read: unknown", () => {
    expect(probeVulkan({}, "darwin").kind).toBe("unknown");
    expect(probeVulkan({}, "win32").kind).toBe("unknown");
  });
});
