import { parseArgs } from "node:util";
import { ElmwoodError } from "../../errors.ts";
import { convertCheckpoint } from "../../openelm/convert.ts";
import { BLOCK_SIZES, type BlockSize, PRECISIONS, type Precision } from "../../openelm/graph.ts";
import { type Command, log, printJson } from "../command.ts";
import { abortOnSigint, progressLine } from "../progress.ts";

export function parsePrecision(value: string | undefined): Precision {
  const p = (value ?? "int4").toLowerCase();
  if ((PRECISIONS as readonly string[]).includes(p)) return p as Precision;
  throw new ElmwoodError(
    "BAD_INPUT",
    `Unknown precision '${value}'.`,
    `Use one of: ${PRECISIONS.join(", ")}.`,
  );
}

export function parseBlockSize(value: string | undefined): BlockSize | undefined {
  if (value === undefined) return undefined;
  const size = Number(value);
  if ((BLOCK_SIZES as readonly number[]).includes(size)) return size as BlockSize;
  throw new ElmwoodError(
    "BAD_INPUT",
    `Unknown block size '${value}'.`,
    `Use one of: ${BLOCK_SIZES.join(", ")} (int4 defaults to 128, int8 to 32).`,
  );
}

export const convert: Command = {
  name: "convert",
  usage:
    "convert <hf-checkpoint-dir> <out-dir> [--precision fp32|int8|int4] [--block-size 32|64|128] [--overwrite] [--json]",
  help: "Converts a Hugging Face OpenELM checkpoint (config.json + safetensors) into an Elmwood model.",
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        precision: { type: "string", default: "int4" },
        "block-size": { type: "string" },
        overwrite: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
    if (positionals.length !== 2) {
      throw new ElmwoodError(
        "BAD_INPUT",
        "convert needs a checkpoint folder and an output folder.",
        "Usage: elmwood convert <hf-checkpoint-dir> <out-dir>",
      );
    }
    const [source, out] = positionals;
    const precision = parsePrecision(values.precision);
    const blockSize = parseBlockSize(values["block-size"]);
    const signal = abortOnSigint();
    const started = performance.now();
    const manifest = await convertCheckpoint(source, out, {
      precision,
      blockSize,
      signal,
      overwrite: values.overwrite,
      onProgress: (p) => progressLine(`converting (${p.phase})`, p.done, p.total),
    });
    const seconds = (performance.now() - started) / 1000;
    const bytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
    log(`\nconverted to ${out} (${precision}, ${(bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s`);
    if (values.json)
      printJson({
        dir: out,
        name: manifest.name,
        precision,
        blockSize: manifest.quantization?.blockSize ?? null,
        bytes,
        seconds,
        files: manifest.files,
      });
    return 0;
  },
};
