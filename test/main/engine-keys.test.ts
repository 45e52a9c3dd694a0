/**
 * Remote engines' API keys in the desktop app: sealed by safeStorage (the system keychain) where it
 * has a real one, in the owner-only file otherwise; never in the clear on disk when sealed, and
 * never readable by a program without the keychain (the CLI), which is told so in one line.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RemoteEngines } from "../../engine/remote/engines.ts";
import { desktopEngineKeys, type KeychainStorage } from "../../main/engine-keys.ts";
import { FakeOpenAi } from "../remote/fake-openai.ts";

/** safeStorage as Electron's would behave: a reversible seal whose output does not contain the text. */
function keychain(backend: ReturnType<KeychainStorage["getSelectedStorageBackend"]> = "gnome_libsecret") {
  const mask = (data: Buffer) => Buffer.from(data.map((b) => b ^ 0x5a));
  return {
    isEncryptionAvailable: vi.fn(() => true),
    getSelectedStorageBackend: vi.fn(() => backend),
    encryptString: vi.fn((plain: string) => mask(Buffer.from(plain, "utf8"))),
    decryptString: vi.fn((sealed: Buffer) => mask(sealed).toString("utf8")),
  } satisfies KeychainStorage;
}

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "elmwood-keys-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("the desktop app's engine keys", () => {
  it("are sealed by the keychain, kept in an owner-only file, and read back", async () => {
    const storage = keychain();
    const keys = desktopEngineKeys(storage, { home });
    expect(keys.storage).toBe("encrypted");
    await keys.set("gpu", "sk-live-secret-1234");
    const file = join(home, "engine-keys.encrypted.json");
    expect(await readFile(file, "utf8")).not.toContain("sk-live-secret-1234");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await keys.get("gpu")).toBe("sk-live-secret-1234");
    await keys.delete("gpu");
    expect(await keys.get("gpu")).toBeNull();
  });

  it("use the owner-only file where safeStorage has no keychain (or only Linux's fixed password)", () => {
    const none = { ...keychain(), isEncryptionAvailable: vi.fn(() => false) };
    expect(desktopEngineKeys(none, { home }).storage).toBe("file");
    if (process.platform === "linux")
      expect(desktopEngineKeys(keychain("basic_text"), { home }).storage).toBe("file");
  });

  it("are sent by the app, and the command line is told it cannot read them", async () => {
    const fake = await FakeOpenAi.start();
    fake.key = "sk-live-secret-1234";
    const app = new RemoteEngines({ paths: { home }, keys: desktopEngineKeys(keychain(), { home }) });
    const cli = new RemoteEngines({ paths: { home } });
    try {
      const added = await app.add({ baseUrl: fake.url, name: "gpu", apiKey: "sk-live-secret-1234" });
      expect(added).toMatchObject({ hasKey: true, keyStorage: "encrypted" });
      expect((await app.refresh("gpu")).error).toBeNull();
      await expect(cli.refresh("gpu")).rejects.toMatchObject({
        message:
          "The API key of 'gpu' is kept in the desktop app's encrypted storage, which only the app can read.",
        hint: expect.stringContaining("elmwood engines key gpu --api-key-env VAR"),
      });
      // A key the command line sets goes to its own file, which the app reads as well; the sealed
      // copy goes, though the command line could not read it.
      await cli.update({ name: "gpu", apiKey: "sk-live-secret-1234" });
      expect((await cli.refresh("gpu")).keyStorage).toBe("file");
      expect((await app.refresh("gpu")).error).toBeNull();
      const sealed = JSON.parse(await readFile(join(home, "engine-keys.encrypted.json"), "utf8"));
      expect(sealed.keys).toEqual({});
      // Removed from the command line, the engine leaves no key in either file.
      await app.update({ name: "gpu", apiKey: "sk-live-secret-1234" });
      expect(await cli.remove("gpu")).toBe(true);
      for (const file of ["engine-keys.json", "engine-keys.encrypted.json"]) {
        expect(JSON.parse(await readFile(join(home, file), "utf8")).keys).toEqual({});
      }
    } finally {
      await app.close();
      await cli.close();
      await fake.close();
    }
  });
});
