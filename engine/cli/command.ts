/** The shape every CLI command module exports. */
export interface Command {
  /** The word after `elmwood`, e.g. "convert". */
  name: string;
  /** One line: the command with its arguments, shown in `elmwood --help`. */
  usage: string;
  /** Extra text for `elmwood <command> --help`. */
  help?: string;
  /** Runs with the arguments after the command name; returns the exit code. */
  run(args: string[]): Promise<number | undefined>;
}

/** Prints the `--json` result: always the last line on stdout, one JSON object. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Progress and logs go to stderr so stdout stays machine-readable. */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
