/**
 * Settings → Data and models → the data folder. Its database is open while Elmwood runs, so a new
 * folder is checked now and the move runs at the next start (engine/profile/data-move.ts): the page
 * says so, offers to restart the app (or says how to restart the server in a browser), and lets the
 * person cancel until then.
 */
import { type FormEvent, useState } from "react";
import type { StorageInfo } from "../../engine/api/contract.ts";
import { ChooseFolderButton } from "../components/ChooseFolderButton.tsx";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { useStorage, useStores } from "../stores/stores.tsx";

function Scheduled({ move }: { move: NonNullable<StorageInfo["dataMove"]> }) {
  const { storage, extras } = useStores();
  const scheduling = useStorage((s) => s.scheduling);
  const [restarting, setRestarting] = useState(false);
  const blocked = move.blockedBy.length > 0;
  return (
    <div className="notice" role="status">
      <div className="notice-text">
        <p>
          The data folder will move to <code>{move.to}</code> when Elmwood starts next. To another disk,
          Elmwood copies everything and checks the copy first; the old folder is deleted only once the new one
          is in use.
        </p>
        {blocked ? (
          <p className="hint">
            Another Elmwood uses the data folder now ({move.blockedBy.join(", ")}): quit it first, or the move
            waits.
          </p>
        ) : null}
        {extras.restart ? null : (
          <p className="hint">
            Stop Elmwood's server (elmwood serve or npm run serve) and start it again to move the folder.
          </p>
        )}
      </div>
      <div className="notice-actions">
        {extras.restart ? (
          <button
            type="button"
            className="button primary"
            disabled={restarting || scheduling}
            onClick={() => {
              setRestarting(true);
              void extras.restart?.();
            }}
          >
            Restart now
          </button>
        ) : null}
        <button
          type="button"
          className="button subtle"
          disabled={restarting || scheduling}
          onClick={() => void storage.getState().cancelDataMove()}
        >
          Cancel data folder move
        </button>
      </div>
    </div>
  );
}

export function DataFolderMove({ info }: { info: StorageInfo }) {
  const { storage } = useStores();
  const scheduling = useStorage((s) => s.scheduling);
  const error = useStorage((s) => s.dataError);
  const [path, setPath] = useState("");

  const schedule = async (folder: string) => {
    if (folder.trim() && (await storage.getState().scheduleDataMove(folder.trim()))) setPath("");
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void schedule(path);
  };

  return (
    <>
      {info.dataFolderProblem ? (
        <ErrorNotice
          title="The data folder cannot be reached"
          error={{
            code: "DISK",
            message: `${info.dataFolderProblem} Elmwood uses the default data folder meanwhile.`,
            hint: "Connect the disk it is on and restart Elmwood.",
          }}
        />
      ) : null}
      {info.dataMoved ? (
        <div className="notice" role="status">
          <p className="notice-text">
            Elmwood moved the data folder here from <code>{info.dataMoved.from}</code> when it started.
          </p>
        </div>
      ) : null}
      {info.dataMove?.state === "failed" && info.dataMove.error ? (
        <ErrorNotice
          title="The data folder was not moved"
          error={info.dataMove.error}
          onDismiss={() => void storage.getState().cancelDataMove()}
        />
      ) : null}
      {error ? (
        <ErrorNotice
          title="The data folder cannot move there"
          error={error}
          onDismiss={() => storage.getState().dismissDataError()}
        />
      ) : null}
      {info.dataMove?.state === "scheduled" ? <Scheduled move={info.dataMove} /> : null}
      {!info.dataFolderMovable && !info.dataFolderFromEnvironment ? (
        <p className="muted small">
          The program that started this Elmwood chose its data folder, so it cannot move from here.
        </p>
      ) : null}
      {info.dataFolderMovable && info.dataMove?.state !== "scheduled" ? (
        <form className="row" onSubmit={submit}>
          <label className="field grow">
            <span>New data folder</span>
            <input
              value={path}
              placeholder="/path/to/a/new/or/empty/folder"
              disabled={scheduling}
              onChange={(e) => setPath(e.target.value)}
            />
          </label>
          <ChooseFolderButton label="Choose a new data folder" disabled={scheduling} onChosen={setPath} />
          <button type="submit" className="button" disabled={scheduling || !path.trim()}>
            Change data folder
          </button>
        </form>
      ) : null}
    </>
  );
}
