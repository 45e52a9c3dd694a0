/**
 * Settings → Data and models: where the profile and the models are, moving the models folder, and
 * scheduling a move of the data folder (DataFolderMove.tsx).
 * A folder is checked first (typed, or chosen with the system dialog on the desktop), so the person
 * sees what will happen (a rename, or so many GB copied to another disk) before anything moves.
 */
import { type FormEvent, useEffect, useState } from "react";
import type { StoreMoveEvent } from "../../engine/api/contract.ts";
import { ChooseFolderButton } from "../components/ChooseFolderButton.tsx";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { formatBytes } from "../lib/format.ts";
import type { StoreMoveJob } from "../stores/storage-store.ts";
import { useStorage, useStores } from "../stores/stores.tsx";
import { DataFolderMove } from "./DataFolderMove.tsx";

type Progress = Extract<StoreMoveEvent, { type: "progress" }>;

function progressText(progress: Progress | null): string {
  if (!progress) return "Starting…";
  const amount = `${formatBytes(progress.doneBytes)} of ${formatBytes(progress.totalBytes)}`;
  switch (progress.phase) {
    case "checking":
      return "Checking the folder…";
    case "copying":
      return `Copying ${amount}`;
    case "verifying":
      return `Checking the copy: ${amount}`;
    case "switching":
      return "Switching to the new folder…";
    case "cleaning":
      return "Deleting the old copy…";
  }
}

function MoveState({ move }: { move: StoreMoveJob }) {
  const { storage } = useStores();
  if (move.state === "running") {
    const progress = move.progress;
    const fraction =
      progress && progress.totalBytes > 0 && (progress.phase === "copying" || progress.phase === "verifying")
        ? progress.doneBytes / progress.totalBytes
        : null;
    // Past the switch the move only finishes (a rename and a pointer): nothing left to cancel.
    const late = progress?.phase === "switching" || progress?.phase === "cleaning";
    return (
      <div className="pull">
        <ProgressBar
          label={`Moving the models folder to ${move.to}`}
          fraction={fraction}
          text={progressText(progress)}
        />
        <div className="row">
          <button
            type="button"
            className="button subtle"
            disabled={late}
            onClick={() => void storage.getState().cancel()}
          >
            Cancel move
          </button>
        </div>
      </div>
    );
  }
  if (move.state === "failed" && move.error) {
    return (
      <ErrorNotice
        title={move.error.code === "CANCELLED" ? "The move was cancelled" : "The models folder was not moved"}
        error={
          move.error.code === "CANCELLED"
            ? { ...move.error, message: "Nothing was moved; the models are where they were." }
            : move.error
        }
        onDismiss={() => storage.getState().dismiss()}
      />
    );
  }
  const result = move.result;
  return (
    <div className="notice">
      <p className="notice-text">
        {result?.method === "pointer"
          ? `Elmwood now uses the models in ${move.to}. The models it used before are still in ${result.leftBehind ?? "their old folder"}; delete them there if you no longer need them.`
          : `The models are in ${move.to} now.`}
      </p>
      <div className="notice-actions">
        <button type="button" className="button subtle" onClick={() => storage.getState().dismiss()}>
          Dismiss
        </button>
      </div>
    </div>
  );
}

export function StorageSettings() {
  const { storage } = useStores();
  const info = useStorage((s) => s.info);
  const destination = useStorage((s) => s.destination);
  const checking = useStorage((s) => s.checking);
  const move = useStorage((s) => s.move);
  const error = useStorage((s) => s.error);
  const [path, setPath] = useState("");

  useEffect(() => {
    void storage.getState().refresh();
  }, [storage]);

  const check = (folder: string) => {
    if (folder.trim()) void storage.getState().inspect(folder.trim());
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    check(path);
  };
  const running = move?.state === "running";
  const canMove = destination && ["missing", "empty", "profile"].includes(destination.state);

  return (
    <section className="card" aria-labelledby="folders-title">
      <h2 id="folders-title">Data and models</h2>
      <dl className="paths">
        <div>
          <dt>Data folder</dt>
          <dd>
            <code>{info?.dataFolder ?? "…"}</code>
          </dd>
        </div>
        <div>
          <dt>Models folder</dt>
          <dd>
            <code>{info?.modelsFolder ?? "…"}</code>
          </dd>
        </div>
      </dl>
      <p className="muted small">
        The data folder holds your conversations, settings and search index (and the models, unless they are
        kept elsewhere) in a database Elmwood keeps open while it runs, so it moves when Elmwood starts next.
        {info?.dataFolderFromEnvironment
          ? " ELMWOOD_HOME chose this one: to keep it elsewhere, quit Elmwood, move the folder, and set ELMWOOD_HOME to its new place."
          : " Starting Elmwood with ELMWOOD_HOME set uses that folder instead."}
      </p>
      {info ? <DataFolderMove info={info} /> : null}
      <p className="muted small">
        The models folder holds the converted models and the downloaded checkpoints (in models and downloads
        inside it), and can move now: on the same disk in a moment, to another disk by copying, checking the
        copy, and only then deleting the old one.
      </p>
      {info?.problem ? <ErrorNotice title="An earlier move was not finished" error={info.problem} /> : null}
      {error ? <ErrorNotice error={error} onDismiss={() => storage.getState().dismiss()} /> : null}
      {move ? <MoveState move={move} /> : null}
      <form className="row" onSubmit={submit}>
        <label className="field grow">
          <span>New models folder</span>
          <input
            value={path}
            placeholder="/path/to/a/folder"
            disabled={running}
            onChange={(e) => {
              setPath(e.target.value);
              storage.getState().clearDestination();
            }}
          />
        </label>
        <ChooseFolderButton
          disabled={running}
          onChosen={(chosen) => {
            setPath(chosen);
            check(chosen);
          }}
        />
        <button type="submit" className="button" disabled={running || checking || !path.trim()}>
          Check folder
        </button>
      </form>
      {/* Always in the page, so a screen reader hears what checking the folder found. */}
      <div role="status">
        {destination && !running ? (
          <div className="notice">
            <p className="notice-text">
              {destination.summary}
              {destination.freeBytes !== null && destination.neededBytes > destination.freeBytes
                ? ` That is more than the ${formatBytes(destination.freeBytes)} free there.`
                : ""}
            </p>
            <div className="notice-actions">
              {canMove ? (
                <button
                  type="button"
                  className="button primary"
                  onClick={() => void storage.getState().start(destination.path, "move")}
                >
                  Move models here
                </button>
              ) : null}
              {destination.state === "store" ? (
                <button
                  type="button"
                  className="button primary"
                  onClick={() => void storage.getState().start(destination.path, "use-existing")}
                >
                  Use the models there
                </button>
              ) : null}
            </div>
          </div>
        ) : null}
      </div>
    </section>
  );
}
