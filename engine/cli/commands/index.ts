/** Every CLI command, in the order `elmwood --help` lists them. */
import type { Command } from "../command.ts";

export const commands: Command[] = [];
