import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  execLine,
  openPdfAtPage,
  pdfPageCommand,
  splitExec,
  systemViewerEnvironment,
  type ViewerEnvironment,
} from "../../engine/documents/open-at-page.ts";

const PDF = "/home/ann/papers/paper.pdf";

interface FakeMachine {
  platform?: NodeJS.Platform;
  defaultApp?: string | null;
  /** Desktop files by absolute path. */
  files?: Record<string, string>;
  /** Programs installed, by the name or path PATH lookup would find, with their absolute path. */
  installed?: Record<string, string>;
}

function machine(fake: FakeMachine): ViewerEnvironment & { asked: ReturnType<typeof vi.fn> } {
  const asked = vi.fn(async () => fake.defaultApp ?? null);
  return {
    platform: fake.platform ?? "linux",
    dataDirs: ["/home/ann/.local/share", "/usr/local/share", "/usr/share"],
    defaultPdfApp: asked,
    asked,
    readText: async (path) => fake.files?.[path] ?? null,
    which: async (program) => fake.installed?.[program] ?? null,
  };
}

const desktop = (exec: string, extra = "") =>
  `[Desktop Entry]\nType=Application\nName=Viewer\nMimeType=application/pdf;\nExec=${exec}\n${extra}`;

describe("choosing the command that opens a PDF at a page", () => {
  it("starts Evince (and Papers, its successor) with --page-index, counting from 1", async () => {
    const evince = machine({
      defaultApp: "org.gnome.Evince.desktop",
      files: { "/usr/share/applications/org.gnome.Evince.desktop": desktop("evince %U") },
      installed: { evince: "/usr/bin/evince" },
    });
    expect(await pdfPageCommand(PDF, 12, evince)).toEqual({
      program: "/usr/bin/evince",
      args: ["--page-index=12", PDF],
      viewer: "evince",
    });
    const papers = machine({
      defaultApp: "org.gnome.Papers.desktop",
      files: { "/usr/share/applications/org.gnome.Papers.desktop": desktop("papers %U") },
      installed: { papers: "/usr/bin/papers" },
    });
    expect((await pdfPageCommand(PDF, 3, papers))?.args).toEqual(["--page-index=3", PDF]);
  });

  it("starts Okular with --page N and Zathura with --page=N", async () => {
    const okular = machine({
      defaultApp: "okularApplication_pdf.desktop",
      files: { "/usr/share/applications/okularApplication_pdf.desktop": desktop("okular %U") },
      installed: { okular: "/usr/bin/okular" },
    });
    expect(await pdfPageCommand(PDF, 7, okular)).toMatchObject({
      program: "/usr/bin/okular",
      args: ["--page", "7", PDF],
    });
    const zathura = machine({
      defaultApp: "org.pwmt.zathura.desktop",
      files: { "/usr/share/applications/org.pwmt.zathura.desktop": desktop("zathura %U") },
      installed: { zathura: "/usr/bin/zathura" },
    });
    expect((await pdfPageCommand(PDF, 7, zathura))?.args).toEqual(["--page=7", PDF]);
  });

  it("uses the program the desktop entry names, quoted path included, not one found elsewhere", async () => {
    const env = machine({
      defaultApp: "okular.desktop",
      files: { "/usr/share/applications/okular.desktop": desktop('"/opt/KDE Apps/bin/okular" %U') },
      installed: { "/opt/KDE Apps/bin/okular": "/opt/KDE Apps/bin/okular", okular: "/usr/bin/okular" },
    });
    expect((await pdfPageCommand(PDF, 2, env))?.program).toBe("/opt/KDE Apps/bin/okular");
  });

  it("reads the person's own desktop entry before the system's", async () => {
    const env = machine({
      defaultApp: "pdf-viewer.desktop",
      files: {
        "/home/ann/.local/share/applications/pdf-viewer.desktop": desktop("zathura %f"),
        "/usr/share/applications/pdf-viewer.desktop": desktop("evince %U"),
      },
      installed: { zathura: "/usr/bin/zathura", evince: "/usr/bin/evince" },
    });
    expect((await pdfPageCommand(PDF, 4, env))?.viewer).toBe("zathura");
  });

  it("finds a vendor-prefixed id in its subfolder (kde4-okular.desktop in applications/kde4/)", async () => {
    const env = machine({
      defaultApp: "kde4-okular.desktop",
      files: { "/usr/share/applications/kde4/okular.desktop": desktop("okular %U") },
      installed: { okular: "/usr/bin/okular" },
    });
    expect((await pdfPageCommand(PDF, 4, env))?.viewer).toBe("okular");
  });

  it("gives no page command when xdg's default is a viewer that takes no page, or a browser", async () => {
    for (const [id, exec] of [
      ["firefox.desktop", "firefox %u"],
      ["org.kde.qpdfview.desktop", "qpdfview --unique %F"],
      ["xdg-open.desktop", "xdg-open %f"],
    ] as const) {
      const env = machine({
        defaultApp: id,
        files: { [`/usr/share/applications/${id}`]: desktop(exec) },
        installed: {
          firefox: "/usr/bin/firefox",
          qpdfview: "/usr/bin/qpdfview",
          "xdg-open": "/usr/bin/xdg-open",
        },
      });
      expect(await pdfPageCommand(PDF, 5, env), id).toBeNull();
    }
  });

  it("gives none for a Flatpak viewer (its Exec is flatpak run), a missing program or no default", async () => {
    const flatpak = machine({
      defaultApp: "org.gnome.Evince.desktop",
      files: {
        "/usr/share/applications/org.gnome.Evince.desktop": desktop(
          "/usr/bin/flatpak run --branch=stable --arch=x86_64 --command=evince org.gnome.Evince @@u %U @@",
        ),
      },
      installed: { "/usr/bin/flatpak": "/usr/bin/flatpak", evince: "/usr/bin/evince" },
    });
    expect(await pdfPageCommand(PDF, 5, flatpak)).toBeNull();
    const uninstalled = machine({
      defaultApp: "org.gnome.Evince.desktop",
      files: { "/usr/share/applications/org.gnome.Evince.desktop": desktop("evince %U") },
    });
    expect(await pdfPageCommand(PDF, 5, uninstalled)).toBeNull();
    expect(await pdfPageCommand(PDF, 5, machine({ defaultApp: null }))).toBeNull();
    expect(await pdfPageCommand(PDF, 5, machine({ defaultApp: "evince.desktop" }))).toBeNull();
  });

  it("ignores Exec lines of other groups, and ids that are not plain desktop file names", async () => {
    const actionOnly = machine({
      defaultApp: "viewer.desktop",
      files: {
        "/usr/share/applications/viewer.desktop":
          "[Desktop Entry]\nName=Viewer\nExec=qpdfview %F\n[Desktop Action new]\nExec=evince %U\n",
      },
      installed: { evince: "/usr/bin/evince", qpdfview: "/usr/bin/qpdfview" },
    });
    expect(await pdfPageCommand(PDF, 2, actionOnly)).toBeNull();
    const sneaky = machine({
      defaultApp: "../../../tmp/evil.desktop",
      files: { "/tmp/evil.desktop": desktop("evince %U") },
      installed: { evince: "/usr/bin/evince" },
    });
    expect(await pdfPageCommand(PDF, 2, sneaky)).toBeNull();
  });

  it("never jumps on macOS or Windows, without asking for a default", async () => {
    for (const platform of ["darwin", "win32"] as const) {
      const env = machine({
        platform,
        defaultApp: "org.gnome.Evince.desktop",
        files: { "/usr/share/applications/org.gnome.Evince.desktop": desktop("evince %U") },
        installed: { evince: "/usr/bin/evince" },
      });
      expect(await pdfPageCommand(PDF, 2, env), platform).toBeNull();
      expect(env.asked).not.toHaveBeenCalled();
    }
  });
});

describe("desktop entry parsing", () => {
  it("splits Exec as the desktop-entry spec quotes it", () => {
    expect(splitExec("evince %U")).toEqual(["evince", "%U"]);
    expect(splitExec('"/opt/My \\"Viewer\\"/bin/okular"  --page 1 %f')).toEqual([
      '/opt/My "Viewer"/bin/okular',
      "--page",
      "1",
      "%f",
    ]);
    expect(splitExec("")).toEqual([]);
  });

  it("reads Exec from the [Desktop Entry] group only", () => {
    expect(execLine("[Desktop Action x]\nExec=b\n[Desktop Entry]\nExec=a %U\n")).toBe("a %U");
    expect(execLine("[Desktop Entry]\nName=x\n")).toBeNull();
  });
});

describe("opening a PDF at a page", () => {
  const evince = () =>
    machine({
      defaultApp: "org.gnome.Evince.desktop",
      files: { "/usr/share/applications/org.gnome.Evince.desktop": desktop("evince %U") },
      installed: { evince: "/usr/bin/evince" },
    });

  it("launches the viewer with the page, as an argument list, and does not open it twice", async () => {
    const launch = vi.fn(async () => {});
    const open = vi.fn(async () => {});
    expect(await openPdfAtPage(PDF, 12, { environment: evince(), launch, open })).toBe(true);
    expect(launch).toHaveBeenCalledWith("/usr/bin/evince", ["--page-index=12", PDF]);
    expect(open).not.toHaveBeenCalled();
  });

  it("opens plainly, and says it did not jump, when the viewer takes no page", async () => {
    const launch = vi.fn(async () => {});
    const open = vi.fn(async () => {});
    expect(await openPdfAtPage(PDF, 12, { environment: machine({ platform: "darwin" }), launch, open })).toBe(
      false,
    );
    expect(launch).not.toHaveBeenCalled();
    expect(open).toHaveBeenCalledWith(PDF);
  });

  it("falls back to the plain open when the viewer will not start", async () => {
    const launch = vi.fn(async () => {
      throw new Error("ENOENT");
    });
    const open = vi.fn(async () => {});
    expect(await openPdfAtPage(PDF, 12, { environment: evince(), launch, open })).toBe(false);
    expect(open).toHaveBeenCalledWith(PDF);
  });

  it("passes on the plain open's failure, so the person hears why nothing opened", async () => {
    const open = vi.fn(async () => {
      throw new Error("no program");
    });
    await expect(
      openPdfAtPage(PDF, 1, { environment: machine({ platform: "win32" }), launch: vi.fn(), open }),
    ).rejects.toThrow("no program");
  });
});

describe("the real machine's environment", () => {
  it("finds executables on PATH (not plain files), and reads the XDG folders in order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "elmwood-viewer-"));
    try {
      await writeFile(join(dir, "zathura"), "#!/bin/sh\n");
      await chmod(join(dir, "zathura"), 0o755);
      await writeFile(join(dir, "okular"), "not executable");
      await chmod(join(dir, "okular"), 0o644);
      const env = systemViewerEnvironment({ PATH: dir, XDG_DATA_HOME: "/h", XDG_DATA_DIRS: "/a:/b" });
      expect(env.dataDirs).toEqual(["/h", "/a", "/b"]);
      expect(await env.which("zathura")).toBe(join(dir, "zathura"));
      // Even root may not execute a file with no x bit at all.
      expect(await env.which("okular")).toBeNull();
      expect(await env.which("evince")).toBeNull();
      expect(await env.readText(join(dir, "missing.desktop"))).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
