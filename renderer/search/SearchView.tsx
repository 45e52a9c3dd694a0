/** Search the indexed folders as you type; filter; ask about the results with numbered citations. */
import { useEffect, useState } from "react";
import type { MeaningStatus, SearchHit, SearchResult } from "../../engine/api/contract.ts";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { Markdown } from "../components/Markdown.tsx";
import { DefaultModelNote } from "../components/RemoteNote.tsx";
import type { DocumentKind } from "../stores/search-store.ts";
import { useDocuments, useSearch, useStores } from "../stores/stores.tsx";
import { snippetPieces } from "./highlight-snippet.ts";

const KINDS: DocumentKind[] = ["pdf", "docx", "html", "markdown", "text", "code"];

const MATCHED: Record<SearchHit["matched"], string> = {
  words: "Words",
  meaning: "Meaning",
  both: "Words and meaning",
};

/** One line on how the search ran when it could not use meaning (or not for every passage yet). */
function meaningNote(mode: SearchResult["mode"], meaning: MeaningStatus): string | null {
  if (meaning.state === "no-model")
    return "Searching by words only. Download the meaning model on the Models page to also find passages by what they mean.";
  if (meaning.state === "error")
    return `Searching by words only: ${meaning.message ?? "search by meaning stopped"}.`;
  if (mode === "words" && meaning.embedded === 0)
    return "Searching by words only until the first passages are ready to be found by meaning.";
  if (meaning.embedded < meaning.total)
    return `${meaning.embedded.toLocaleString("en-US")} of ${meaning.total.toLocaleString("en-US")} passages can be found by meaning so far${meaning.state === "paused" ? " (paused on the Documents page)" : ""}.`;
  return null;
}

function Hit({ hit }: { hit: SearchHit }) {
  const { search } = useStores();
  const name = hit.path.split(/[\\/]/).pop() ?? hit.path;
  // Only a PDF's page means something to a viewer; other kinds open at their start.
  const page = hit.kind === "pdf" ? hit.page : null;
  return (
    <li className="search-hit" id={`hit-${hit.chunkId}`} tabIndex={-1}>
      <p className="snippet">
        {snippetPieces(hit.snippet, hit.highlights).map((piece, i) =>
          // biome-ignore lint/suspicious/noArrayIndexKey: pieces are positional and never reordered
          piece.match ? <mark key={i}>{piece.text}</mark> : <span key={i}>{piece.text}</span>,
        )}
      </p>
      <p className="hit-source small">
        <span className="badge">{hit.kind ?? "file"}</span>{" "}
        <span className={`badge matched-${hit.matched}`} title="What matched your search">
          {MATCHED[hit.matched]}
        </span>{" "}
        <code>{hit.path}</code>
        {hit.location ? ` · ${hit.location}` : ""}
      </p>
      <div className="row hit-actions">
        <button
          type="button"
          className="button"
          // The accessible name starts with the visible text, so speech users can say "Open".
          aria-label={page ? `Open ${name} at page ${page}` : `Open ${name}`}
          onClick={() => void search.getState().open(hit.path, false, page)}
        >
          Open
        </button>
        <button
          type="button"
          className="button"
          aria-label={`Show in folder: ${name}`}
          onClick={() => void search.getState().open(hit.path, true)}
        >
          Show in folder
        </button>
      </div>
    </li>
  );
}

export function SearchView() {
  const { search, documents, ui } = useStores();
  const result = useSearch((s) => s.result);
  const error = useSearch((s) => s.error);
  const filters = useSearch((s) => s.filters);
  const answer = useSearch((s) => s.answer);
  const folders = useDocuments((s) => s.folders);
  const lastQuery = useSearch((s) => s.query);
  const [query, setQuery] = useState(lastQuery);

  useEffect(() => {
    void documents.getState().refresh();
  }, [documents]);
  useEffect(() => {
    const timer = setTimeout(() => void search.getState().search(query), 60);
    return () => clearTimeout(timer);
  }, [query, search]);

  return (
    <section className="page" aria-labelledby="search-title">
      <header className="pane-header">
        <h1 id="search-title" className="pane-title">
          Search
        </h1>
      </header>
      <div className="page-body">
        <input
          type="search"
          className="big-search"
          aria-label="Search documents"
          placeholder="Search your documents"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") void search.getState().search(query, false);
          }}
        />
        <div className="filters row">
          <label className="field">
            <span>Folder</span>
            <select
              value={filters.folder ?? ""}
              onChange={(e) => void search.getState().setFilters({ folder: e.target.value || null })}
            >
              <option value="">All folders</option>
              {folders.map((f) => (
                <option key={f.id} value={f.path}>
                  {f.path}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Type</span>
            <select
              value={filters.kind ?? ""}
              onChange={(e) =>
                void search.getState().setFilters({ kind: (e.target.value || null) as DocumentKind | null })
              }
            >
              <option value="">Any type</option>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Changed</span>
            <select
              value={filters.days ?? ""}
              onChange={(e) =>
                void search.getState().setFilters({ days: e.target.value ? Number(e.target.value) : null })
              }
            >
              <option value="">Any time</option>
              <option value="1">Today</option>
              <option value="7">This week</option>
              <option value="30">This month</option>
              <option value="365">This year</option>
            </select>
          </label>
        </div>
        {error ? <ErrorNotice error={error} /> : null}
        {folders.length === 0 ? (
          <p className="muted">Nothing is indexed yet: add a folder on the Documents page.</p>
        ) : null}
        {result && meaningNote(result.mode, result.meaning) ? (
          <p className="meaning-note small">
            {meaningNote(result.mode, result.meaning)}{" "}
            {result.meaning.state === "no-model" ? (
              <button type="button" className="button subtle" onClick={() => ui.getState().go("models")}>
                Open Models
              </button>
            ) : null}
          </p>
        ) : null}
        {result ? (
          <>
            <p className="muted small" aria-live="polite">
              {result.hits.length === 0
                ? "No matches."
                : `${result.hits.length} matches in ${Math.round(result.tookMs)} ms`}
            </p>
            {result.hits.length > 0 ? (
              <button type="button" className="button" onClick={() => void search.getState().ask()}>
                Ask about these results
              </button>
            ) : null}
            {result.hits.length > 0 ? <DefaultModelNote what="Answers are written" /> : null}
            {answer ? (
              <section className="card answer" aria-label="Answer">
                {answer.error ? (
                  <ErrorNotice error={answer.error} />
                ) : (
                  <Markdown text={answer.text || "Reading the sources…"} />
                )}
                {answer.answer ? (
                  <ol className="citations">
                    {answer.answer.citations.map((c) => {
                      // Each citation jumps to its snippet among the results, where that result is listed.
                      const hit = result.hits.find(
                        (h) => h.path === c.source.path && (h.location ?? "") === c.source.location,
                      );
                      const label = (
                        <>
                          <code>{c.source.path}</code> {c.source.location}
                        </>
                      );
                      return (
                        <li key={c.n} value={c.n}>
                          {hit ? (
                            <a
                              href={`#hit-${hit.chunkId}`}
                              onClick={(e) => {
                                e.preventDefault();
                                const target = document.getElementById(`hit-${hit.chunkId}`);
                                target?.scrollIntoView({ block: "center" });
                                target?.focus();
                              }}
                            >
                              {label}
                            </a>
                          ) : (
                            label
                          )}
                        </li>
                      );
                    })}
                  </ol>
                ) : null}
              </section>
            ) : null}
            <ol className="search-results">
              {result.hits.map((hit) => (
                <Hit key={hit.chunkId} hit={hit} />
              ))}
            </ol>
          </>
        ) : null}
      </div>
    </section>
  );
}
