// Types for bin/ensure-electron.js, which stays plain JavaScript so it runs before anything is built.
export const DESKTOP_NODE: string;
export function electronPackageDir(): string;
export function platformPath(platform?: NodeJS.Platform): string;
export function electronInstalled(dir: string, env?: NodeJS.ProcessEnv, platform?: NodeJS.Platform): boolean;
export function describeDownloadError(error: unknown): string;

export interface InstallerResult {
  status: number | null;
  stderr?: string | null;
}

export interface EnsureElectronOptions {
  dir?: string;
  nodeVersion?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  arch?: string;
  stream?: { isTTY?: boolean; write(chunk: string): boolean };
  runInstaller?: (dir: string) => InstallerResult | Promise<InstallerResult>;
}

export function ensureElectron(options?: EnsureElectronOptions): Promise<{ ok: boolean; message?: string }>;
