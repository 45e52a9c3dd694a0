/** Every CLI command, in the order `elmwood --help` lists them. */
import type { Command } from "../command.ts";
import { ask } from "./ask.ts";
import { bench } from "./bench.ts";
import { chat } from "./chat.ts";
import { convert } from "./convert.ts";
import { index } from "./doc-index.ts";
import { engines } from "./engines.ts";
import { generate } from "./generate.ts";
import { logits } from "./logits.ts";
import { models } from "./models.ts";
import { search } from "./search.ts";
import { serve } from "./serve.ts";
import { summarize } from "./summarize-model.ts";
import { tokenize } from "./tokenize.ts";

export const commands: Command[] = [
  convert,
  generate,
  logits,
  models,
  engines,
  tokenize,
  index,
  search,
  ask,
  summarize,
  chat,
  bench,
  serve,
];
