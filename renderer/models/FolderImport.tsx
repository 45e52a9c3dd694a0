/**
 * Import a Hugging Face checkpoint folder already on disk: type or paste its path, choose it with the
 * system dialog (desktop), or drop it here (desktop: the shell tells us the dropped folder's path).
 */
import { type DragEvent, type FormEvent, useMemo, useState } from "react";
import { ChooseFolderButton } from "../components/ChooseFolderButton.tsx";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { useModels, useStores } from "../stores/stores.tsx";
import { isActive, jobFraction } from "./job-progress.ts";
import { jobText } from "./PullControls.tsx";

export function FolderImport() {
  const { models, extras } = useStores();
  const [path, setPath] = useState("");
  const [dragging, setDragging] = useState(false);
  const [dropProblem, setDropProblem] = useState<string | null>(null);
  const jobs = useModels((s) => s.jobs);
  const imports = useMemo(() => Object.values(jobs).filter((j) => j.kind === "import"), [jobs]);

  const start = (folder: string) => {
    if (!folder.trim()) return;
    setDropProblem(null);
    void models.getState().importFolder(folder.trim());
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    start(path);
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const file = event.dataTransfer.files[0];
    const dropped = file && extras.pathForFile ? extras.pathForFile(file) : "";
    if (dropped) {
      setPath(dropped);
      start(dropped);
    } else {
      setDropProblem("This window cannot see where a dropped folder lives. Paste the folder's path instead.");
    }
  };

  return (
    <section className="card import" aria-labelledby="import-title">
      <h2 id="import-title">Import a folder</h2>
      <p className="muted">
        A folder with an OpenELM checkpoint from Hugging Face (config.json and .safetensors files). Elmwood
        converts it for this computer.
      </p>
      <form
        className={`drop-zone${dragging ? " dragging" : ""}`}
        onSubmit={submit}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <label className="field grow">
          <span>Folder</span>
          <input
            value={path}
            placeholder="/path/to/OpenELM-270M-Instruct"
            onChange={(e) => setPath(e.target.value)}
          />
        </label>
        <ChooseFolderButton onChosen={setPath} />
        <button type="submit" className="button primary" disabled={!path.trim()}>
          Import
        </button>
        <p className="drop-hint">or drop the folder here</p>
      </form>
      {dropProblem ? <p className="warning">{dropProblem}</p> : null}
      {imports.map((job) =>
        isActive(job) ? (
          <ProgressBar
            key={job.jobId}
            label={`Importing ${job.target}`}
            fraction={jobFraction(job)}
            text={jobText(job)}
          />
        ) : job.phase === "finished" ? (
          <p key={job.jobId} className="installed-note">
            {job.detail}
          </p>
        ) : job.error ? (
          <p key={job.jobId} className="warning" role="alert">
            {job.error.message} {job.error.hint}
          </p>
        ) : null,
      )}
    </section>
  );
}
