/**
 * How the desktop app opens a search result: Electron's shell for a plain open and for showing a file
 * in its folder, and the person's own PDF viewer started at a page where it accepts one
 * (engine/documents/open-at-page.ts), else the plain open.
 */
import type { Shell } from "electron";
import {
  openPdfAtPage,
  systemViewerEnvironment,
  type ViewerEnvironment,
} from "../engine/documents/open-at-page.ts";
import type { FileOpener } from "../engine/documents/open-file.ts";
import { launch } from "../engine/documents/open-file.ts";
import { ElmwoodError } from "../engine/errors.ts";

export function electronOpener(
  shell: Pick<Shell, "openPath" | "showItemInFolder">,
  environment: ViewerEnvironment = systemViewerEnvironment(),
  start: (program: string, args: string[]) => Promise<void> = launch,
): FileOpener {
  const open = async (path: string) => {
    const problem = await shell.openPath(path);
    if (problem) throw new ElmwoodError("NOT_FOUND", `Could not open ${path}: ${problem}.`);
  };
  return {
    open,
    async reveal(path) {
      shell.showItemInFolder(path);
    },
    openPdfAtPage: (path, page) => openPdfAtPage(path, page, { environment, launch: start, open }),
  };
}
