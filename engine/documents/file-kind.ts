/**
 * Decides from a file's name (and, for unknown names, its first bytes) whether Elmwood can read it and
 * how. Binary formats we cannot extract are skipped early, before any work is spent on them.
 */
import { basename, extname } from "node:path";
import { utf16ByNulPattern } from "./encoding.ts";
import type { DocumentKind } from "./types.ts";

const BY_EXTENSION: Record<string, DocumentKind> = {
  ".pdf": "pdf",
  ".docx": "docx",
  ".html": "html",
  ".htm": "html",
  ".xhtml": "html",
  ".md": "markdown",
  ".markdown": "markdown",
  ".mdx": "markdown",
  ".txt": "text",
  ".text": "text",
  ".rst": "text",
  ".adoc": "text",
  ".org": "text",
  ".log": "text",
  ".csv": "text",
  ".tsv": "text",
  ".tex": "text",
  ".rtf": "text",
};

const CODE_EXTENSIONS = new Set(
  (
    ".ts .tsx .js .jsx .mjs .cjs .json .jsonc .py .rb .go .rs .java .kt .kts .scala .swift .c .h .cc .cpp .cxx .hpp " +
    ".hh .cs .fs .m .mm .php .pl .pm .r .jl .lua .sh .bash .zsh .fish .ps1 .bat .cmd .sql .yaml .yml .toml .ini " +
    ".cfg .conf .xml .css .scss .sass .less .vue .svelte .dart .ex .exs .erl .hs .ml .mli .clj .cljs .elm .nim " +
    ".zig .v .sv .vhd .proto .graphql .gradle .cmake .mk .dockerfile .tf .hcl .nix"
  ).split(" "),
);

const CODE_NAMES = new Set(["makefile", "dockerfile", "cmakelists.txt", "gemfile", "rakefile", "justfile"]);

/** Formats that are binary and that we do not extract: skipped without reading them. */
const BINARY_EXTENSIONS = new Set(
  (
    ".png .jpg .jpeg .gif .bmp .tif .tiff .webp .ico .heic .psd .svgz .mp3 .wav .flac .ogg .m4a .aac .mp4 .mov .avi " +
    ".mkv .webm .zip .gz .tgz .bz2 .xz .7z .rar .zst .tar .jar .war .exe .dll .so .dylib .o .a .lib .bin .dat .iso " +
    ".dmg .img .class .pyc .wasm .onnx .safetensors .gguf .pt .pth .npy .npz .sqlite .db .doc .xls .xlsx .ppt .pptx " +
    ".odt .ods .odp .pages .key .numbers .epub .ttf .otf .woff .woff2 .eot .DS_Store"
  )
    .toLowerCase()
    .split(" "),
);

/** The kind for a path by its name alone; undefined when the name does not tell. */
export function kindFromName(path: string): DocumentKind | undefined {
  const name = basename(path).toLowerCase();
  const ext = extname(name);
  if (BY_EXTENSION[ext]) return BY_EXTENSION[ext];
  if (CODE_EXTENSIONS.has(ext) || CODE_NAMES.has(name)) return "code";
  return undefined;
}

export function isKnownBinaryName(path: string): boolean {
  return BINARY_EXTENSIONS.has(extname(path).toLowerCase()) || basename(path) === ".DS_Store";
}

/**
 * True when the bytes look binary: a NUL byte in the first 8 KiB, unless the bytes are UTF-16 text
 * (a byte-order mark, or NULs in one half of the byte pairs).
 */
export function looksBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 8192);
  if (!head.includes(0)) return false;
  return !hasUtf16Bom(bytes) && utf16ByNulPattern(bytes) === undefined;
}

function hasUtf16Bom(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
  );
}
