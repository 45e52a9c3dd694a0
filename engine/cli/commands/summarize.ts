/**
 * `elmwood summarize <file> [--model NAME|DIR]`: a summary of a whole document by map-reduce over the
 * model's window, streamed to stdout with "part i of n" progress on stderr.
 *
 * The model arrives through `createCompletion`, which the runtime provides; this module builds the
 * command around whatever function it is given, so it is registered where that function exists.
 */
import { parseArgs } from "node:util";
import type { Completion } from "../../documents/completion.ts";
import type { SummaryStyle } from "../../documents/summarize.ts";
import { ElmwoodError } from "../../errors.ts";
import { type Command, log, printJson } from "../command.ts";
import { MODEL_OPTIONS, type ModelArgs, parseModelArgs } from "../model-arg.ts";

const STYLES: SummaryStyle[] = ["short", "bullets", "detailed"];

export function summarizeCommand(createCompletion: (model: ModelArgs) => Promise<Completion>): Command {
  return {
    name: "summarize",
    usage:
      "summarize <file> [--model NAME|DIR|ENGINE/MODEL] [--style short|bullets|detailed] [--provider P] [--threads N] [--json]",
    help: "Summarizes a PDF, Word, HTML, Markdown or text file of any length. Ctrl-C cancels.",
    async run(args) {
      const { values, positionals } = parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: { ...MODEL_OPTIONS, style: { type: "string" }, json: { type: "boolean" } },
      });
      if (positionals.length !== 1) throw new ElmwoodError("BAD_INPUT", "Give one file to summarize.");
      const modelArgs = parseModelArgs(values);
      const style = (values.style ?? "short") as SummaryStyle;
      if (!STYLES.includes(style)) {
        throw new ElmwoodError(
          "BAD_INPUT",
          `Unknown --style '${values.style}'.`,
          `Use one of: ${STYLES.join(", ")}.`,
        );
      }
      const { readDocument } = await import("../../documents/read-document.ts");
      const { summarizeSections } = await import("../../documents/summarize.ts");
      const document = await readDocument(positionals[0]);
      const completion = await createCompletion(modelArgs);
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once("SIGINT", onSignal);
      try {
        const result = await summarizeSections(document.sections, completion, {
          style,
          signal: abort.signal,
          onEvent: (event) => {
            if (event.type === "progress")
              log(
                `${event.stage} ${event.level ? `level ${event.level} ` : ""}part ${event.part} of ${event.of}`,
              );
            else if (!values.json) process.stdout.write(event.delta);
          },
        });
        if (values.json) printJson(result);
        else {
          process.stdout.write("\n\nSources:\n");
          for (const part of result.parts)
            process.stdout.write(`- ${part.location || "whole document"}: ${part.summary.split("\n")[0]}\n`);
        }
        return 0;
      } finally {
        process.off("SIGINT", onSignal);
      }
    },
  };
}
