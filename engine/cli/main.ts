/**
 * The `elmwood` command line. Each command lives in its own module under commands/ and is
 * registered here; this file only dispatches and turns errors into one clear line and an exit code.
 */
import { ElmwoodError, isElmwoodError } from "../errors.ts";
import { applyPendingDataMove } from "../profile/data-move.ts";
import type { Command } from "./command.ts";
import { commands } from "./commands/index.ts";

function usage(list: readonly Command[]): string {
  const lines = list.map((c) => `  ${c.usage}`);
  return `Usage: elmwood <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun 'elmwood <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage(commands)}\n`);
    return name ? 0 : 1;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`elmwood: unknown command '${name}'. Run 'elmwood --help' for the list.\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`Usage: elmwood ${command.usage}\n${command.help ?? ""}\n`);
    return 0;
  }
  try {
    // A move of the data folder scheduled in Settings runs before any command opens the profile.
    await applyPendingDataMove({ log: (line) => process.stderr.write(`${line}\n`) });
    return (await command.run(rest)) ?? 0;
  } catch (error) {
    const line = isElmwoodError(error)
      ? error.toLine()
      : error instanceof Error && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
        ? `${error.message}. Run 'elmwood ${name} --help' for its options.`
        : `Unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`elmwood ${name}: ${line}\n`);
    if (process.env.ELMWOOD_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return isElmwoodError(error) && error.code === "CANCELLED" ? 130 : 1;
  }
}

export { ElmwoodError };
