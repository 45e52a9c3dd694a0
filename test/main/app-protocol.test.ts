import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PAGE_CSP } from "../../engine/page-policy.ts";
import {
  APP_INDEX_URL,
  appRequestHandler,
  installAppProtocol,
  registerAppScheme,
} from "../../main/app-protocol.ts";

// The module only takes Electron's types; nothing here loads the binary.

let parent: string;
let root: string;
let serve: (request: Request) => Promise<Response>;

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), "elmwood-app-scheme-"));
  root = join(parent, "renderer");
  await mkdir(join(root, "assets"), { recursive: true });
  await writeFile(join(root, "index.html"), "<!doctype html><title>Elmwood</title>");
  await writeFile(join(root, "assets", "index-abc.js"), "console.log('app')");
  await writeFile(join(root, "assets", "index-abc.css"), "body{}");
  await writeFile(join(root, "assets", "logo.svg"), "<svg/>");
  await writeFile(join(root, "assets", "data.bin"), "bytes");
  // Beside the build folder, where a traversal would land.
  await writeFile(join(parent, "secret.txt"), "top secret");
  serve = appRequestHandler(root);
});

afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

const get = (url: string, init?: RequestInit) => serve(new Request(url, init));

describe("the app:// scheme's handler", () => {
  it("serves index.html for the app's address and for the bare origin", async () => {
    for (const url of [APP_INDEX_URL, "app://elmwood/", "app://elmwood"]) {
      const response = await get(url);
      expect(response.status, url).toBe(200);
      expect(response.headers.get("content-type"), url).toBe("text/html; charset=utf-8");
      expect(await response.text(), url).toContain("<title>Elmwood</title>");
    }
  });

  it("gives each file its MIME type, with the page's CSP and no sniffing", async () => {
    const types: Record<string, string> = {
      "assets/index-abc.js": "text/javascript; charset=utf-8",
      "assets/index-abc.css": "text/css; charset=utf-8",
      "assets/logo.svg": "image/svg+xml",
      "assets/data.bin": "application/octet-stream",
    };
    for (const [path, type] of Object.entries(types)) {
      const response = await get(`app://elmwood/${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toBe(type);
      expect(response.headers.get("content-security-policy"), path).toBe(PAGE_CSP);
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
    expect(await (await get("app://elmwood/assets/index-abc.js")).text()).toBe("console.log('app')");
  });

  it("answers a route of the app (no extension) with index.html, and a missing file with 404", async () => {
    const route = await get("app://elmwood/settings");
    expect(route.status).toBe(200);
    expect(await route.text()).toContain("<title>Elmwood</title>");
    expect((await get("app://elmwood/assets/missing.js")).status).toBe(404);
  });

  it("refuses every path that would leave the renderer folder", async () => {
    for (const url of [
      "app://elmwood/../secret.txt",
      "app://elmwood/%2e%2e/secret.txt",
      "app://elmwood/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
      "app://elmwood/%2e%2e%2fsecret.txt",
      `app://elmwood/${encodeURIComponent(join(parent, "secret.txt"))}`,
      "app://elmwood/assets/index-abc.js%00.html",
    ]) {
      const response = await get(url);
      const body = await response.text();
      expect(body, url).not.toContain("top secret");
      expect(response.status, url).toBe(404);
    }
    expect((await get("app://elmwood/%E0%A4%A")).status).toBe(400);
  });

  it("serves only its own host, and only GET and HEAD", async () => {
    expect((await get("app://other/index.html")).status).toBe(404);
    const post = await get(APP_INDEX_URL, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const head = await get(APP_INDEX_URL, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String("<!doctype html><title>Elmwood</title>".length));
  });
});

describe("registering the scheme", () => {
  it("registers app: as standard and secure, without bypassing the CSP", () => {
    const protocol = { registerSchemesAsPrivileged: vi.fn() };
    registerAppScheme(protocol);
    const [schemes] = protocol.registerSchemesAsPrivileged.mock.calls[0] ?? [];
    expect(schemes).toEqual([
      expect.objectContaining({
        scheme: "app",
        privileges: expect.objectContaining({ standard: true, secure: true }),
      }),
    ]);
    expect(schemes?.[0]?.privileges?.bypassCSP).toBeUndefined();
  });

  it("installs a handler for app: that serves the given folder", async () => {
    const protocol = { handle: vi.fn() };
    installAppProtocol(protocol, root);
    const [scheme, handler] = protocol.handle.mock.calls[0] ?? [];
    expect(scheme).toBe("app");
    const response = (await handler(new Request(APP_INDEX_URL))) as Response;
    expect(await response.text()).toContain("<title>Elmwood</title>");
  });
});
