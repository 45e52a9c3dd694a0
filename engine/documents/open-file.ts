/**
 * Opening a file from the search results with the system's own program, or showing it in its folder.
 * The desktop app passes Electron's shell instead; this is what browser mode and tests without one
 * use. Programs are started with an argument list (never a shell), detached, so they outlive nothing.
 */
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { ElmwoodError } from "../errors.ts";
import { openPdfAtPage, systemViewerEnvironment } from "./open-at-page.ts";

export interface FileOpener {
  open(path: string): Promise<void>;
  reveal(path: string): Promise<void>;
  /**
   * Opens a PDF at a page (from 1) where the default viewer accepts one, else plainly; resolves to
   * whether the viewer was told the page. Absent: PDFs open plainly.
   */
  openPdfAtPage?(path: string, page: number): Promise<boolean>;
}

/** Starts a program with an argument list, detached; rejects when it cannot be started. */
export function launch(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { detached: true, stdio: "ignore" });
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new ElmwoodError(
          "NOT_FOUND",
          error.code === "ENOENT"
            ? `There is no program to open files with (${command} is not installed).`
            : `Could not open the file: ${error.message}.`,
          "Open it from your file manager instead; its path is shown beside the result.",
        ),
      ),
    );
    child.once("spawn", () => {
      child.unref();
      resolve();
    });
  });
}

const openPlainly = (path: string): Promise<void> =>
  process.platform === "darwin"
    ? launch("open", [path])
    : process.platform === "win32"
      ? launch("explorer.exe", [path])
      : launch("xdg-open", [path]);

export const systemOpener: FileOpener = {
  open: openPlainly,
  openPdfAtPage: (path, page) =>
    openPdfAtPage(path, page, { environment: systemViewerEnvironment(), launch, open: openPlainly }),
  reveal: (path) =>
    process.platform === "darwin"
      ? launch("open", ["-R", path])
      : process.platform === "win32"
        ? launch("explorer.exe", [`/select,${path}`])
        : // The freedesktop file managers have no common "select this file": open its folder.
          launch("xdg-open", [dirname(path)]),
};
