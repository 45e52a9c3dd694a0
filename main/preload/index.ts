/**
 * The renderer's only door to the app. For now it holds the version; the typed contract comes later
 * and will be exposed here call by call, never as a raw channel.
 */
import { contextBridge } from "electron";

// Replaced at build time (electron.vite.config.ts): a sandboxed preload cannot read package.json.
declare const __ELMWOOD_VERSION__: string;

contextBridge.exposeInMainWorld("elmwood", Object.freeze({ version: __ELMWOOD_VERSION__ }));
