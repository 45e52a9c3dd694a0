// @vitest-environment happy-dom
/**
 * Settings → Data and models → changing the data folder: scheduled for the next start, with Restart
 * now on the desktop, how to restart the server in a browser, Cancel, and every refusal shown with its
 * way forward.
 */
import { createElement } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { StorageInfo } from "../../engine/api/contract.ts";
import { CallError } from "../../renderer/api/errors.ts";
import { StorageSettings } from "../../renderer/settings/StorageSettings.tsx";
import { byLabelText, byRole, click, type Mounted, mount, type } from "./dom.tsx";
import { fakeApi } from "./fake-api.ts";

let mounted: Mounted | undefined;
afterEach(() => {
  mounted?.unmount();
  mounted = undefined;
});

const info: StorageInfo = {
  dataFolder: "/home/ann/.local/share/elmwood",
  dataFolderFromEnvironment: false,
  modelsFolder: "/home/ann/.local/share/elmwood",
  modelsPath: "/home/ann/.local/share/elmwood/models",
  downloadsPath: "/home/ann/.local/share/elmwood/downloads",
  moving: null,
  problem: null,
  dataFolderMovable: true,
  dataFolderProblem: null,
  dataMove: null,
  dataMoved: null,
};

function scheduled(to: string, blockedBy: string[] = []): StorageInfo {
  return {
    ...info,
    dataMove: { state: "scheduled", to, scheduledAt: "2026-12-01T12:00:00.000Z", error: null, blockedBy },
  };
}

/** An engine whose data folder is `current`, scheduling and cancelling as the service does. */
function dataApi(options: { refuse?: boolean } = {}) {
  let current = info;
  return fakeApi({
    "storage.get": () => current,
    "storage.scheduleDataMove": ({ path }) => {
      if (options.refuse) {
        throw new CallError({
          code: "BAD_INPUT",
          message: `${path} is not empty.`,
          hint: "Choose an empty folder, or a new one.",
        });
      }
      current = scheduled(path);
      return current;
    },
    "storage.cancelDataMove": () => {
      current = info;
      return current;
    },
  });
}

const statusText = (container: HTMLElement) =>
  [...container.querySelectorAll('[role="status"]')].map((e) => e.textContent).join(" ");

describe("changing the data folder in Settings", () => {
  it("in a browser: schedules the move for the next start, says how to restart the server, and cancels", async () => {
    const api = dataApi();
    mounted = await mount(api, createElement(StorageSettings));
    const { container } = mounted;
    expect(() => byRole(container, "button", "Restart now")).toThrow();
    await type(byLabelText(container, "New data folder"), "/mnt/big/elmwood");
    await click(byRole(container, "button", "Change data folder"));
    expect(api.calls.find((c) => c.name === "storage.scheduleDataMove")?.input).toEqual({
      path: "/mnt/big/elmwood",
    });
    expect(statusText(container)).toContain(
      "The data folder will move to /mnt/big/elmwood when Elmwood starts next",
    );
    expect(statusText(container)).toContain("elmwood serve or npm run serve");
    // The field goes while a move is scheduled: one move at a time.
    expect(() => byLabelText(container, "New data folder")).toThrow();

    await click(byRole(container, "button", "Cancel data folder move"));
    expect(api.calls.some((c) => c.name === "storage.cancelDataMove")).toBe(true);
    expect(statusText(container)).not.toContain("will move");
    expect(byLabelText(container, "New data folder").value).toBe("");
  });

  it("on the desktop: picks the folder with the system dialog and offers Restart now", async () => {
    const api = dataApi();
    const restart = vi.fn(async () => undefined);
    const chooseFolder = vi.fn(async () => "/Volumes/Ext/Elmwood");
    mounted = await mount(api, createElement(StorageSettings), { chooseFolder, restart });
    const { container } = mounted;
    await click(byRole(container, "button", "Choose a new data folder"));
    expect(byLabelText(container, "New data folder").value).toBe("/Volumes/Ext/Elmwood");
    await click(byRole(container, "button", "Change data folder"));
    expect(statusText(container)).toContain("/Volumes/Ext/Elmwood");
    expect(statusText(container)).not.toContain("npm run serve");
    await click(byRole(container, "button", "Restart now"));
    expect(restart).toHaveBeenCalledTimes(1);
    expect(byRole<HTMLButtonElement>(container, "button", "Restart now").disabled).toBe(true);
  });

  it("shows why a folder was refused, with the way forward, and keeps what was typed", async () => {
    const api = dataApi({ refuse: true });
    mounted = await mount(api, createElement(StorageSettings));
    const { container } = mounted;
    await type(byLabelText(container, "New data folder"), "/home/ann/Documents");
    await click(byRole(container, "button", "Change data folder"));
    const alert = container.querySelector('[role="alert"]');
    expect(alert?.textContent).toContain("/home/ann/Documents is not empty.");
    expect(alert?.textContent).toContain("Choose an empty folder, or a new one.");
    expect(byLabelText(container, "New data folder").value).toBe("/home/ann/Documents");
  });

  it("names another Elmwood that keeps the move waiting", async () => {
    const api = fakeApi({
      "storage.get": () => scheduled("/mnt/big/elmwood", ["process 4242 (elmwood serve)"]),
    });
    mounted = await mount(api, createElement(StorageSettings));
    expect(statusText(mounted.container)).toContain(
      "Another Elmwood uses the data folder now (process 4242 (elmwood serve))",
    );
    expect(statusText(mounted.container)).toContain("quit it first");
  });

  it("reports a move that failed at the start, and dismissing it forgets it", async () => {
    let current: StorageInfo = {
      ...info,
      dataMove: {
        state: "failed",
        to: "/mnt/big/elmwood",
        scheduledAt: "2026-12-01T12:00:00.000Z",
        error: {
          code: "DISK",
          message: "The disk holding /mnt/big/elmwood filled up.",
          hint: "Free some space.",
        },
        blockedBy: [],
      },
    };
    const api = fakeApi({
      "storage.get": () => current,
      "storage.cancelDataMove": () => {
        current = info;
        return current;
      },
    });
    mounted = await mount(api, createElement(StorageSettings));
    const alert = mounted.container.querySelector('[role="alert"]');
    expect(alert?.textContent).toContain("The data folder was not moved");
    expect(alert?.textContent).toContain("filled up");
    await click(byRole(mounted.container, "button", "Dismiss"));
    expect(api.calls.some((c) => c.name === "storage.cancelDataMove")).toBe(true);
    expect(mounted.container.querySelector('[role="alert"]')).toBeNull();
  });

  it("says the folder moved at this start, and offers no change when ELMWOOD_HOME chose it", async () => {
    const moved = fakeApi({
      "storage.get": () => ({ ...info, dataMoved: { from: "/old/place", to: info.dataFolder } }),
    });
    mounted = await mount(moved, createElement(StorageSettings));
    expect(statusText(mounted.container)).toContain("moved the data folder here from /old/place");
    mounted.unmount();

    const fromEnv = fakeApi({
      "storage.get": () => ({ ...info, dataFolderFromEnvironment: true, dataFolderMovable: false }),
    });
    mounted = await mount(fromEnv, createElement(StorageSettings));
    expect(mounted.container.textContent).toContain("ELMWOOD_HOME chose this one");
    expect(() => byRole(mounted?.container as HTMLElement, "button", "Change data folder")).toThrow();
  });
});
