#!/usr/bin/env node
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
// Runs a TypeScript entry point through tsx's loader, so the CLI and benchmarks need no build step.
import { register } from "tsx/esm/api";

// onnxruntime reports telemetry unless this is set before it initializes (engine/runtime/ort/environment.ts).
process.env.ORT_DISABLE_TELEMETRY = "1";
register();
const [entry, ...rest] = process.argv.slice(2);
process.argv = [process.argv[0], entry, ...rest];
await import(pathToFileURL(resolve(entry)).href);
