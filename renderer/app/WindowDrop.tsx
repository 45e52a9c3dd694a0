/**
 * Drop anywhere in the window: a file is summarized, a folder is added to search. Places with their
 * own drop zone (model import) handle their drops first.
 */
import { useEffect, useState } from "react";
import { readDropped } from "../documents/read-dropped.ts";
import { useStores } from "../stores/stores.tsx";

const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes("Files") ?? false;

export function WindowDrop() {
  const { documents, ui, toasts, extras } = useStores();
  const [over, setOver] = useState(false);

  useEffect(() => {
    let depth = 0;
    const enter = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth++;
      setOver(true);
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const overWindow = (event: DragEvent) => {
      // Without this the browser would open the file in place of the app.
      if (carriesFiles(event)) event.preventDefault();
    };
    const drop = async (event: DragEvent) => {
      depth = 0;
      setOver(false);
      if (!carriesFiles(event) || event.defaultPrevented || !event.dataTransfer) {
        if (carriesFiles(event)) event.preventDefault();
        return;
      }
      event.preventDefault();
      const dropped = await readDropped(event.dataTransfer, extras);
      if (!dropped) return;
      if (dropped.kind === "unusable") {
        toasts.getState().show({ title: "Cannot use that drop", description: dropped.reason, tone: "error" });
        return;
      }
      ui.getState().go("documents");
      if (dropped.kind === "folder") void documents.getState().addFolder(dropped.path);
      else void documents.getState().summarize(dropped.source);
    };
    window.addEventListener("dragenter", enter);
    window.addEventListener("dragleave", leave);
    window.addEventListener("dragover", overWindow);
    window.addEventListener("drop", drop);
    return () => {
      window.removeEventListener("dragenter", enter);
      window.removeEventListener("dragleave", leave);
      window.removeEventListener("dragover", overWindow);
      window.removeEventListener("drop", drop);
    };
  }, [documents, ui, toasts, extras]);

  return over ? (
    <div className="window-drop" aria-hidden="true">
      <p>Drop a file to summarize it, or a folder to add it to search</p>
    </div>
  ) : null;
}
