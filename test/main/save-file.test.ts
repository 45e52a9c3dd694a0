/**
 * The desktop "save as" for exported conversations, with Electron's dialog and window stood in for:
 * only the app's page may save, only a file name (never a path) is taken from it, the file lands
 * whole where the person chose, and cancelling saves nothing.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserWindow, Dialog, IpcMainInvokeEvent } from "electron";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type SaveFileOptions, saveFileAnswer } from "../../main/save-file.ts";

let folder: string;
const trustedEvent = { trusted: true } as unknown as IpcMainInvokeEvent;
const window = { id: 1 } as unknown as BrowserWindow;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "elmwood-save-"));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

function options(choose: (defaultPath: string) => string | null): SaveFileOptions & {
  shown: { defaultPath?: string; filters?: unknown }[];
} {
  const shown: { defaultPath?: string; filters?: unknown }[] = [];
  const showSaveDialog = vi.fn(async (_window: unknown, dialogOptions: { defaultPath?: string }) => {
    shown.push(dialogOptions);
    const path = choose(dialogOptions.defaultPath ?? "");
    return path === null ? { canceled: true, filePath: "" } : { canceled: false, filePath: path };
  });
  return {
    shown,
    isTrusted: (event) => (event as unknown as { trusted?: boolean }).trusted === true,
    window: () => window,
    dialog: { showSaveDialog } as unknown as Pick<Dialog, "showSaveDialog">,
    defaultFolder: () => folder,
  };
}

const file = { filename: "Trees by the river.md", mimeType: "text/markdown", content: "# Trees\n" };

describe("saving an exported conversation from the desktop app", () => {
  it("asks where, starting in the default folder with the suggested name, and writes the file there", async () => {
    const target = join(folder, "chosen.md");
    const opts = options(() => target);
    const answer = await saveFileAnswer(trustedEvent, file, opts);
    expect(answer).toEqual({ saved: true, path: target });
    expect(await readFile(target, "utf8")).toBe("# Trees\n");
    expect(opts.shown[0].defaultPath).toBe(join(folder, "Trees by the river.md"));
    expect(opts.shown[0].filters).toEqual([
      { name: "Markdown", extensions: ["md"] },
      { name: "All files", extensions: ["*"] },
    ]);
    // Nothing but the file itself is left in the folder (no temporary file).
    expect(await readdir(folder)).toEqual(["chosen.md"]);
  });

  it("replaces an existing file whole", async () => {
    const target = join(folder, "old.md");
    await writeFile(target, "an older, longer export\n".repeat(50));
    await saveFileAnswer(
      trustedEvent,
      file,
      options(() => target),
    );
    expect(await readFile(target, "utf8")).toBe("# Trees\n");
  });

  it("saves nothing when the person cancels", async () => {
    const answer = await saveFileAnswer(
      trustedEvent,
      file,
      options(() => null),
    );
    expect(answer).toEqual({ saved: false });
    expect(await readdir(folder)).toEqual([]);
  });

  it("refuses a page that is not the app's without showing a dialog", async () => {
    const opts = options(() => join(folder, "x.md"));
    const answer = await saveFileAnswer({ trusted: false } as unknown as IpcMainInvokeEvent, file, opts);
    expect(answer).toMatchObject({ saved: false, error: expect.stringContaining("may not save") });
    expect(opts.shown).toEqual([]);
  });

  it("refuses a suggested name that is a path, or a request of the wrong shape", async () => {
    const opts = options(() => join(folder, "x.md"));
    for (const bad of [
      { ...file, filename: "../../.bashrc" },
      { ...file, filename: "/etc/passwd" },
      { ...file, content: 42 },
      { ...file, extra: true },
      null,
    ]) {
      const answer = await saveFileAnswer(trustedEvent, bad, opts);
      expect(answer).toMatchObject({ saved: false, error: expect.stringContaining("not valid") });
    }
    expect(opts.shown).toEqual([]);
  });

  it("says why when the file cannot be written, leaving nothing behind", async () => {
    const target = join(folder, "missing-folder", "x.md");
    const answer = await saveFileAnswer(
      trustedEvent,
      file,
      options(() => target),
    );
    expect(answer).toMatchObject({
      saved: false,
      error: expect.stringContaining(`Could not write ${target}`),
    });
    expect(await readdir(folder)).toEqual([]);
  });
});
