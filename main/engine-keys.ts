/**
 * Where the desktop app keeps remote engines' API keys: sealed with Electron's safeStorage (the
 * macOS Keychain, Windows DPAPI, the Secret Service or KWallet on Linux), so a copied profile folder
 * does not carry them in the clear. Where safeStorage has no real keychain behind it (Linux without a
 * keyring falls back to "basic_text", a fixed password), the owner-only file `elmwood serve` and the
 * CLI use is no worse, and those can read it too. Call after the app is ready: before, safeStorage
 * reports no encryption on Linux.
 */
import type { SafeStorage } from "electron";
import { type EngineKeys, encryptedKeys, fileKeys } from "../engine/remote/engine-keys.ts";

export type KeychainStorage = Pick<
  SafeStorage,
  "isEncryptionAvailable" | "encryptString" | "decryptString" | "getSelectedStorageBackend"
>;

export function desktopEngineKeys(safeStorage: KeychainStorage, paths: { home: string }): EngineKeys {
  if (!safeStorage.isEncryptionAvailable()) return fileKeys(paths);
  if (process.platform === "linux" && safeStorage.getSelectedStorageBackend() === "basic_text") {
    return fileKeys(paths);
  }
  return encryptedKeys(paths, {
    encrypt: (plain) => safeStorage.encryptString(plain),
    decrypt: (sealed) => safeStorage.decryptString(sealed),
  });
}
