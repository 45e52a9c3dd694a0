/** `elmwood tokenize`: the Llama token ids of a text, as the models see it (without <s>). */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { ElmwoodError } from "../../errors.ts";
import { type Command, printJson } from "../command.ts";

export const tokenize: Command = {
  name: "tokenize",
  usage: "tokenize (--text TEXT | --file PATH) [--json]",
  help: 'Prints the token ids of the text, comma-separated (--json: {"tokens": [...]}); no <s> id.',
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: { text: { type: "string" }, file: { type: "string" }, json: { type: "boolean" } },
    });
    if ((values.text === undefined) === (values.file === undefined)) {
      throw new ElmwoodError(
        "BAD_INPUT",
        "Give exactly one of --text or --file.",
        "Run 'elmwood tokenize --help'.",
      );
    }
    const text = values.text ?? (await readText(values.file as string));
    // Loaded here, not at the top, so other commands do not pay for the vocabulary.
    const { llamaTokenizer } = await import("../../text/tokenizer.ts");
    const tokens = llamaTokenizer().encode(text);
    if (values.json) printJson({ tokens });
    else process.stdout.write(`${tokens.join(",")}\n`);
    return 0;
  },
};

async function readText(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new ElmwoodError("NOT_FOUND", `There is no file at ${path}.`, "Check the path.");
    }
    if (code === "EISDIR") {
      throw new ElmwoodError("BAD_INPUT", `${path} is a folder, not a file.`, "Pass a text file.");
    }
    throw new ElmwoodError(
      "BAD_INPUT",
      `Could not read ${path} (${code ?? "unknown error"}).`,
      "Check that it is readable.",
      {
        cause: error,
      },
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ElmwoodError("BAD_INPUT", `${path} is not UTF-8 text.`, "Convert it to UTF-8 or pass --text.");
  }
}
