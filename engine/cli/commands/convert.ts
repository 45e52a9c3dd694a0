import { parseArgs } from "node:util";
import { ElmwoodError } from "../../errors.ts";
import { convertCheckpoint } from "../../openelm/convert.ts";
import { PRECISIONS, type Precision } from "../../openelm/graph.ts";
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

export const convert: Command = {
  name: "convert",
  usage: "convert <hf-checkpoint-dir> <out-dir> [--precision fp32|int8|int4] [--overwrite] [--json]",
  help: "Converts a Hugging Face OpenELM checkpoint (config.json + safetensors) into an Elmwood model.",
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        precision: { type: "string", default: "int4" },
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
    const signal = abortOnSigint();
    const started = performance.now();
    const manifest = await convertCheckpoint(source, out, {
      precision,
      signal,
      overwrite: values.overwrite,
      onProgress: (p) => progressLine(`converting (${p.phase})`, p.done, p.total),
    });
    const seconds = (performance.now() - started) / 1000;
    const bytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
    log(`\nconverted to ${out} (${precision}, ${(bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s`);
    if (values.json)
      printJson({ dir: out, name: manifest.name, precision, bytes, seconds, files: manifest.files });
    return 0;
  },
};
