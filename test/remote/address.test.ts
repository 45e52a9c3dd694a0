/** Engine addresses as people type them, and what Elmwood keeps and says about them. */
import { describe, expect, it } from "vitest";
import { parseEngineAddress, suggestEngineName } from "../../engine/remote/address.ts";

describe("an engine's address", () => {
  it("adds /v1 to a bare address and keeps a given path", () => {
    expect(parseEngineAddress("http://127.0.0.1:8000").baseUrl).toBe("http://127.0.0.1:8000/v1");
    expect(parseEngineAddress("http://127.0.0.1:8000/").baseUrl).toBe("http://127.0.0.1:8000/v1");
    expect(parseEngineAddress("https://gpu.example.com/openai/v1/").baseUrl).toBe(
      "https://gpu.example.com/openai/v1",
    );
  });

  it("cuts a pasted endpoint back to its base URL", () => {
    expect(parseEngineAddress("http://localhost:11434/v1/chat/completions").baseUrl).toBe(
      "http://localhost:11434/v1",
    );
    expect(parseEngineAddress("http://localhost:8080/v1/models").baseUrl).toBe("http://localhost:8080/v1");
  });

  it("knows loopback from another machine, and calls plain http to another machine unencrypted", () => {
    expect(parseEngineAddress("http://127.0.0.1:8000")).toMatchObject({ loopback: true, unencrypted: false });
    expect(parseEngineAddress("http://[::1]:8000")).toMatchObject({ loopback: true, host: "[::1]:8000" });
    expect(parseEngineAddress("http://localhost:1234")).toMatchObject({ loopback: true });
    expect(parseEngineAddress("http://gpu-box:8000")).toMatchObject({ loopback: false, unencrypted: true });
    expect(parseEngineAddress("https://gpu-box:8000")).toMatchObject({ loopback: false, unencrypted: false });
    expect(parseEngineAddress("http://127.0.0.1.nip.io:8000")).toMatchObject({ loopback: false });
  });

  it("refuses an address without http:// or https://, rather than guess which", () => {
    expect(() => parseEngineAddress("gpu-box:8000")).toThrow(/needs http:\/\/ or https:\/\//);
  });

  it("refuses a key in the address, a query, and other protocols", () => {
    expect(() => parseEngineAddress("http://user:secret@gpu-box:8000/v1")).toThrow(/user name or password/);
    expect(() => parseEngineAddress("http://gpu-box:8000/v1?key=1")).toThrow(/query or a fragment/);
    expect(() => parseEngineAddress("ftp://gpu-box/v1")).toThrow(/not ftp/);
  });

  it("names an engine after its host, avoiding names taken", () => {
    const name = (url: string, taken: string[] = []) =>
      suggestEngineName(parseEngineAddress(url), new Set(taken));
    expect(name("https://gpu-box.lan:8000/v1")).toBe("gpu-box");
    expect(name("http://127.0.0.1:8000")).toBe("local");
    expect(name("http://127.0.0.1:8001", ["local"])).toBe("local-2");
    expect(name("http://10.0.0.7:8000")).toBe("engine");
    expect(name("https://My_Server.example.com")).toBe("my_server");
  });
});
