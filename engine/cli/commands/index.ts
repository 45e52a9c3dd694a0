/** Every CLI command, in the order `elmwood --help` lists them. */
import type { Command } from "../command.ts";
import { convert } from "./convert.ts";
import { models } from "./models.ts";
import { tokenize } from "./tokenize.ts";

export const commands: Command[] = [convert, models, tokenize];
