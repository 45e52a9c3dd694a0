/** The application menu: the platform's standard roles, so shortcuts (copy, paste, quit) work as users expect. */
import type { MenuItemConstructorOptions } from "electron";
import { Menu } from "electron";

export function menuTemplate(platform: NodeJS.Platform): MenuItemConstructorOptions[] {
  const standard: MenuItemConstructorOptions[] = [
    { role: "fileMenu" },
    { role: "editMenu" },
    { role: "viewMenu" },
    { role: "windowMenu" },
  ];
  // On macOS the first menu is the app's own (About, Hide, Quit), named by the OS after the app.
  return platform === "darwin" ? [{ role: "appMenu" }, ...standard] : standard;
}

export function installApplicationMenu(platform: NodeJS.Platform = process.platform): void {
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(platform)));
}
