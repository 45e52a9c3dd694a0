#!/usr/bin/env node
// The `elmwood` command: loads the TypeScript CLI through tsx's loader (no build step needed).
import { register } from "tsx/esm/api";
import { requireEngineNode } from "./node-version.js";

requireEngineNode();
// onnxruntime reports telemetry to Microsoft unless this is set before it initializes; children this
// process starts inherit it (see engine/runtime/ort/environment.ts).
process.env.ORT_DISABLE_TELEMETRY = "1";
register();
const { main } = await import("../engine/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
