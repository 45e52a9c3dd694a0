/**
 * Opening a PDF at a page, where the person's own PDF viewer can be told one, and saying so where it
 * cannot. Only the default viewer is ever used (never another program the person did not choose), it is
 * started with an argument list (never a shell), and anything unknown falls back to a plain open.
 *
 * - Linux: the default application for application/pdf (xdg-mime) is looked up in its .desktop file; if
 *   its program is Evince, Papers (GNOME's successor to it), Okular or Zathura, that program is started
 *   with its page flag. Viewers whose flags we have not checked (Atril, Xreader, qpdfview...) open plainly.
 *   xdg-open itself takes no page, nor does any viewer we do not know (nor a Flatpak, whose Exec line is
 *   `flatpak run`).
 * - macOS: Preview takes no page from the command line (`open` passes none), so no jump.
 * - Windows: no jump. The default handler is whatever ProgId the user chose (Edge, a browser, Acrobat,
 *   SumatraPDF...), each with its own syntax (`/A "page=N"`, `-page N`, `#page=N` on a file URL that
 *   only some accept); we cannot verify any of them here, and guessing wrong opens the file somewhere the
 *   person did not choose, or not at all.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, delimiter, isAbsolute, join } from "node:path";

/** What the command selection may learn about the machine; tests inject one. */
export interface ViewerEnvironment {
  platform: NodeJS.Platform;
  /** The desktop id of the default application for PDFs (`evince.desktop`), or null. Linux only. */
  defaultPdfApp(): Promise<string | null>;
  /** Folders holding `applications/` (XDG_DATA_HOME first, then XDG_DATA_DIRS). */
  dataDirs: readonly string[];
  /** A file's text, or null when it cannot be read. */
  readText(path: string): Promise<string | null>;
  /** A program's absolute path (looked up on PATH when bare), or null when it is not there. */
  which(program: string): Promise<string | null>;
}

/** The page flags of the viewers we know, with the page counted from 1 as on the PDF's own pages. */
const PAGE_FLAGS: Record<string, (page: number) => string[]> = {
  // --page-index counts from 1 (both subtract one before going to the page); --page-label would be the
  // label printed on the page, which need not be its number.
  evince: (page) => [`--page-index=${page}`],
  papers: (page) => [`--page-index=${page}`],
  okular: (page) => ["--page", String(page)],
  zathura: (page) => [`--page=${page}`],
};

export interface PageCommand {
  /** Absolute path of the viewer. */
  program: string;
  args: string[];
  /** The viewer's name, for messages. */
  viewer: string;
}

/**
 * The command that opens `path` at `page` in the person's default PDF viewer, or null when that viewer
 * cannot be told a page (or cannot be identified). `path` is absolute.
 */
export async function pdfPageCommand(
  path: string,
  page: number,
  environment: ViewerEnvironment,
): Promise<PageCommand | null> {
  if (environment.platform !== "linux" && environment.platform !== "freebsd") return null;
  const id = await environment.defaultPdfApp();
  if (!id || !/^[\w.+-]+\.desktop$/.test(id)) return null;
  const exec = await desktopExec(id, environment);
  if (!exec) return null;
  const program = splitExec(exec)[0];
  if (!program) return null;
  const viewer = basename(program);
  const flags = PAGE_FLAGS[viewer];
  if (!flags) return null;
  const resolved = await environment.which(program);
  if (!resolved) return null;
  return { program: resolved, args: [...flags(page), path], viewer };
}

/** The Exec line of a desktop entry found in the data folders, in their order of precedence. */
async function desktopExec(id: string, environment: ViewerEnvironment): Promise<string | null> {
  // The desktop-entry spec: "kde4-okular.desktop" may also live at applications/kde4/okular.desktop.
  const candidates = [id];
  if (id.includes("-")) candidates.push(id.replace("-", "/"));
  for (const dir of environment.dataDirs) {
    for (const candidate of candidates) {
      const text = await environment.readText(join(dir, "applications", candidate));
      if (text !== null) return execLine(text);
    }
  }
  return null;
}

/** `Exec=` of the [Desktop Entry] group (actions and other groups have their own, which we ignore). */
export function execLine(desktopFile: string): string | null {
  let inEntry = false;
  for (const raw of desktopFile.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      inEntry = line === "[Desktop Entry]";
      continue;
    }
    if (inEntry && line.startsWith("Exec=")) return line.slice("Exec=".length).trim() || null;
  }
  return null;
}

/**
 * An Exec value split into arguments as the desktop-entry spec quotes them: double quotes group, and
 * inside them a backslash escapes `"`, `` ` ``, `$` and `\`. Field codes (%f, %U) are left as they are;
 * only the program (the first argument) is used.
 */
export function splitExec(exec: string): string[] {
  const args: string[] = [];
  let current = "";
  let quoted = false;
  let started = false;
  for (let i = 0; i < exec.length; i++) {
    const c = exec[i] as string;
    if (quoted) {
      if (c === "\\" && i + 1 < exec.length) current += exec[++i];
      else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') {
      quoted = true;
      started = true;
    } else if (c === " " || c === "\t") {
      if (started) args.push(current);
      current = "";
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

/** The machine this process runs on. */
export function systemViewerEnvironment(env: NodeJS.ProcessEnv = process.env): ViewerEnvironment {
  const dataHome = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  const dataDirs = (env.XDG_DATA_DIRS || "/usr/local/share:/usr/share").split(":").filter(Boolean);
  return {
    platform: process.platform,
    dataDirs: [dataHome, ...dataDirs],
    defaultPdfApp: () =>
      new Promise((resolve) => {
        execFile(
          "xdg-mime",
          ["query", "default", "application/pdf"],
          { timeout: 3000, windowsHide: true },
          (error, stdout) => resolve(error ? null : stdout.trim() || null),
        );
      }),
    readText: async (path) => {
      try {
        return await readFile(path, "utf8");
      } catch {
        return null;
      }
    },
    which: async (program) => {
      const candidates = isAbsolute(program)
        ? [program]
        : program.includes("/")
          ? []
          : (env.PATH ?? "")
              .split(delimiter)
              .filter(Boolean)
              .map((dir) => join(dir, program));
      for (const candidate of candidates) {
        try {
          await access(candidate, constants.X_OK);
          return candidate;
        } catch {
          // Not here; the next folder on PATH.
        }
      }
      return null;
    },
  };
}

export interface PageOpenDeps {
  environment: ViewerEnvironment;
  /** Starts a program with arguments; rejects when it cannot be started. */
  launch(program: string, args: string[]): Promise<void>;
  /** The plain open, without a page. */
  open(path: string): Promise<void>;
}

/**
 * Opens a PDF at `page` where the default viewer accepts one; otherwise (or if that viewer fails to
 * start) opens it plainly. Resolves to whether the viewer was told the page.
 */
export async function openPdfAtPage(path: string, page: number, deps: PageOpenDeps): Promise<boolean> {
  const command = await pdfPageCommand(path, page, deps.environment).catch(() => null);
  if (command) {
    try {
      await deps.launch(command.program, command.args);
      return true;
    } catch {
      // The viewer is listed but would not start: the plain open still gets the file on screen.
    }
  }
  await deps.open(path);
  return false;
}
