/**
 * Documents: drop a file to summarize it (the summary streams in, with "part 4 of 11" and Cancel), and
 * the folders indexed for search with their status.
 */
import { type DragEvent, type FormEvent, useEffect, useMemo, useState } from "react";
import type { FolderStatus, MeaningStatus } from "../../engine/api/contract.ts";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { Markdown } from "../components/Markdown.tsx";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { DefaultModelNote } from "../components/RemoteNote.tsx";
import { formatCount } from "../lib/format.ts";
import { useDocuments, useStores } from "../stores/stores.tsx";
import { readDropped } from "./read-dropped.ts";
import { type SummaryLine, summarySources } from "./summary-sources.ts";

function folderState(folder: FolderStatus): string {
  switch (folder.state) {
    case "ready":
      return `Indexed: ${formatCount(folder.indexed)} files, ${formatCount(folder.chunks)} passages`;
    case "indexing":
    case "scanning":
      return `Indexing ${formatCount(folder.filesDone)} of ${formatCount(folder.filesTotal)} files`;
    case "pending":
      return "Waiting to be indexed";
    case "missing":
      return "The folder is gone";
    case "error":
      return `Error: ${folder.message ?? "unknown"}`;
  }
}

function meaningText(meaning: MeaningStatus): string {
  const of = `${formatCount(meaning.embedded)} of ${formatCount(meaning.total)} passages`;
  switch (meaning.state) {
    case "no-model":
      return "Off: no meaning model is installed. Search finds passages by their words only.";
    case "waiting":
      return meaning.embedded < meaning.total
        ? `Waiting for the word index: ${of} ready.`
        : "Waiting for the word index.";
    case "embedding":
      return `Reading passages for their meaning: ${of}${meaning.chunksPerSecond ? ` · ${meaning.chunksPerSecond} per second` : ""}.`;
    case "ready":
      return `Every passage (${formatCount(meaning.total)}) can be found by its meaning.`;
    case "paused":
      return `Paused at ${of}. Search still uses the passages that are ready.`;
    case "error":
      return meaning.message ?? "Search by meaning stopped.";
  }
}

/** Where search by meaning stands, with Pause and Resume for the background work. */
function MeaningPanel() {
  const { documents, ui } = useStores();
  const meaning = useDocuments((s) => s.meaning);
  if (!meaning) return null;
  const running = meaning.state === "embedding" || meaning.state === "waiting";
  return (
    <section className="card meaning" aria-labelledby="meaning-status-title">
      <h2 id="meaning-status-title">Search by meaning</h2>
      <p className="small" aria-live="polite">
        {meaningText(meaning)}
      </p>
      {meaning.state === "embedding" && meaning.total > 0 ? (
        <ProgressBar
          label="Passages ready to be found by meaning"
          fraction={meaning.embedded / meaning.total}
        />
      ) : null}
      <div className="row">
        {meaning.state === "no-model" ? (
          <button type="button" className="button" onClick={() => ui.getState().go("models")}>
            Open Models
          </button>
        ) : null}
        {running ? (
          <button
            type="button"
            className="button"
            onClick={() => void documents.getState().setMeaning(false)}
          >
            Pause
          </button>
        ) : null}
        {meaning.state === "paused" || meaning.state === "error" ? (
          <button type="button" className="button" onClick={() => void documents.getState().setMeaning(true)}>
            {meaning.state === "paused" ? "Resume" : "Try again"}
          </button>
        ) : null}
      </div>
    </section>
  );
}

/**
 * The finished summary, sentence by sentence: hovering or focusing one highlights the parts of the
 * document it most likely came from.
 */
function SourcedSummary({
  text,
  parts,
  onSources,
}: {
  text: string;
  parts: string[];
  onSources(parts: number[]): void;
}) {
  const lines = useMemo(() => summarySources(text, parts), [text, parts]);
  const sentences = (line: SummaryLine) =>
    line.sentences.map((sentence, i) => (
      // A button, so keyboard users reach each sentence and can show its sources too.
      <button
        // biome-ignore lint/suspicious/noArrayIndexKey: sentences are positional and never reordered
        key={i}
        type="button"
        className="summary-sentence"
        onMouseEnter={() => onSources(sentence.sources)}
        onMouseLeave={() => onSources([])}
        onFocus={() => onSources(sentence.sources)}
        onBlur={() => onSources([])}
      >
        {sentence.text}
      </button>
    ));
  const bullets = lines.every((l) => l.bullet);
  return bullets ? (
    <ul>
      {lines.map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional and never reordered
        <li key={i}>{sentences(line)}</li>
      ))}
    </ul>
  ) : (
    lines.map((line, i) => (
      // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional and never reordered
      <p key={i}>{sentences(line)}</p>
    ))
  );
}

function SummaryPanel() {
  const { documents } = useStores();
  const summary = useDocuments((s) => s.summary);
  const [highlighted, setHighlighted] = useState<number[]>([]);
  if (!summary) return null;
  const running = summary.state === "running";
  const progressText =
    summary.of > 0
      ? `Part ${summary.part} of ${summary.of}${summary.stage === "map" ? "" : ` (${summary.stage})`}`
      : "Reading the document…";
  return (
    <section className="card summary" aria-labelledby="summary-title">
      <header className="row spread">
        <h2 id="summary-title">Summary of {summary.source.split(/[\\/]/).pop()}</h2>
        {running ? (
          <button type="button" className="button" onClick={() => void documents.getState().cancelSummary()}>
            Cancel
          </button>
        ) : null}
      </header>
      {running ? (
        <ProgressBar
          label="Summarizing"
          fraction={summary.of > 0 ? summary.part / summary.of : null}
          text={progressText}
        />
      ) : null}
      {summary.error && summary.state === "failed" ? <ErrorNotice error={summary.error} /> : null}
      {summary.state === "cancelled" ? <p className="muted">Cancelled.</p> : null}
      <div className="summary-columns">
        <div className="summary-text" aria-live="polite">
          {summary.result ? (
            <SourcedSummary
              text={summary.result.summary}
              parts={summary.result.parts.map((p) => p.summary)}
              onSources={setHighlighted}
            />
          ) : summary.text ? (
            <Markdown text={summary.text} />
          ) : null}
        </div>
        {summary.result ? (
          <ol className="summary-parts" aria-label="Parts of the document">
            {summary.result.parts.map((part, i) => (
              <li
                key={`${part.chunks[0]}-${part.chunks[1]}`}
                className={highlighted.includes(i) ? "source" : undefined}
              >
                <strong>{part.location}</strong>
                <p>{part.summary}</p>
              </li>
            ))}
          </ol>
        ) : null}
      </div>
    </section>
  );
}

export function DocumentsView() {
  const { documents, extras } = useStores();
  const folders = useDocuments((s) => s.folders);
  const error = useDocuments((s) => s.error);
  const [filePath, setFilePath] = useState("");
  const [folderPath, setFolderPath] = useState("");
  const [dragging, setDragging] = useState(false);
  const [dropProblem, setDropProblem] = useState<string | null>(null);

  useEffect(() => {
    void documents.getState().refresh();
  }, [documents]);

  const onDrop = async (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    setDropProblem(null);
    const dropped = await readDropped(event.dataTransfer, extras);
    if (dropped?.kind === "unusable") setDropProblem(dropped.reason);
    else if (dropped?.kind === "folder") void documents.getState().addFolder(dropped.path);
    else if (dropped?.kind === "file") void documents.getState().summarize(dropped.source);
  };
  const summarizePath = (event: FormEvent) => {
    event.preventDefault();
    if (filePath.trim()) void documents.getState().summarize({ path: filePath.trim() });
  };
  const addFolder = (event: FormEvent) => {
    event.preventDefault();
    if (folderPath.trim()) void documents.getState().addFolder(folderPath.trim());
    setFolderPath("");
  };

  return (
    <section className="page" aria-labelledby="documents-title">
      <header className="pane-header">
        <h1 id="documents-title" className="pane-title">
          Documents
        </h1>
      </header>
      <div className="page-body">
        {error ? <ErrorNotice error={error} onDismiss={() => documents.getState().dismissError()} /> : null}
        <section
          className={`card drop-zone big${dragging ? " dragging" : ""}`}
          aria-labelledby="summarize-title"
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <h2 id="summarize-title">Summarize a document</h2>
          <p className="muted">Drop a PDF, Word, HTML, Markdown or text file here, or give its path.</p>
          <form className="row" onSubmit={summarizePath}>
            <label className="field grow">
              <span>File</span>
              <input
                value={filePath}
                placeholder="/path/to/report.pdf"
                onChange={(e) => setFilePath(e.target.value)}
              />
            </label>
            <button type="submit" className="button primary" disabled={!filePath.trim()}>
              Summarize
            </button>
          </form>
          {dropProblem ? <p className="warning">{dropProblem}</p> : null}
          <DefaultModelNote what="Summaries are written" />
        </section>
        <SummaryPanel />
        <MeaningPanel />
        <section className="card" aria-labelledby="folders-list-title">
          <h2 id="folders-list-title">Folders for search</h2>
          <form className="row" onSubmit={addFolder}>
            <label className="field grow">
              <span>Folder</span>
              <input
                value={folderPath}
                placeholder="/path/to/notes"
                onChange={(e) => setFolderPath(e.target.value)}
              />
            </label>
            <button type="submit" className="button" disabled={!folderPath.trim()}>
              Add to search
            </button>
          </form>
          {folders.length === 0 ? (
            <p className="muted">No folders yet. Add one and its documents become searchable.</p>
          ) : (
            <ul className="folder-list">
              {folders.map((folder) => (
                <li key={folder.id} className={`folder state-${folder.state}`}>
                  <div>
                    <code>{folder.path}</code>
                    <p className="small">{folderState(folder)}</p>
                    {folder.state === "indexing" && folder.filesTotal > 0 ? (
                      <ProgressBar
                        label={`Indexing ${folder.path}`}
                        fraction={folder.filesDone / folder.filesTotal}
                      />
                    ) : null}
                  </div>
                  <button
                    type="button"
                    className="button subtle"
                    aria-label={`Remove ${folder.path} from search`}
                    onClick={() => void documents.getState().removeFolder(folder.path)}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </section>
  );
}
