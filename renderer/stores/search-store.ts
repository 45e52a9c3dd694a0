/**
 * Search over the indexed folders, as the person types; and "Ask about these results", an answer
 * grounded on them that streams in with numbered citations.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { ErrorInfo, GroundedAnswer, SearchHit, SearchResult } from "../../engine/api/contract.ts";
import type { ElmwoodClient } from "../api/client.ts";
import { asErrorInfo } from "../api/errors.ts";

export type DocumentKind = NonNullable<SearchHit["kind"]>;

export interface SearchFilters {
  folder: string | null;
  kind: DocumentKind | null;
  /** Only files changed in the last this many days. */
  days: number | null;
}

export interface AnswerJob {
  jobId: string;
  question: string;
  state: "running" | "done" | "failed";
  sources: SearchHit[];
  text: string;
  answer: GroundedAnswer | null;
  error: ErrorInfo | null;
}

export interface SearchStore {
  query: string;
  filters: SearchFilters;
  result: SearchResult | null;
  searching: boolean;
  error: ErrorInfo | null;
  answer: AnswerJob | null;
  /** What the last open did that the person could not see for themselves (a PDF not at its page). */
  notice: string | null;
  search(query: string, asYouType?: boolean): Promise<void>;
  setFilters(filters: Partial<SearchFilters>): Promise<void>;
  ask(): Promise<void>;
  /** Opens a result's file with the system's program (a PDF at `page` where it can), or shows it in its folder. */
  open(path: string, reveal?: boolean, page?: number | null): Promise<void>;
}

export function createSearchStore(
  client: ElmwoodClient,
  now: () => number = Date.now,
): StoreApi<SearchStore> & { dispose(): void } {
  let latest = 0;
  const store = createStore<SearchStore>()((set, get) => {
    const filterInput = () => {
      const { folder, kind, days } = get().filters;
      return {
        ...(folder ? { folders: [folder] } : {}),
        ...(kind ? { kinds: [kind] } : {}),
        ...(days ? { modifiedAfter: now() - days * 86_400_000 } : {}),
      };
    };
    return {
      query: "",
      filters: { folder: null, kind: null, days: null },
      result: null,
      searching: false,
      error: null,
      answer: null,
      notice: null,

      async search(query, asYouType = true) {
        const ticket = ++latest;
        set({ query });
        if (!query.trim()) {
          set({ result: null, searching: false, error: null });
          return;
        }
        set({ searching: true });
        try {
          const result = await client.documents.search({
            query: query.slice(0, 1000),
            limit: 20,
            asYouType,
            ...filterInput(),
          });
          // Only the newest query's answer is shown, whatever order answers arrive in.
          if (ticket === latest) set({ result, searching: false, error: null });
        } catch (error) {
          if (ticket === latest) set({ searching: false, error: asErrorInfo(error) });
        }
      },

      async setFilters(filters) {
        set((s) => ({ filters: { ...s.filters, ...filters } }));
        await get().search(get().query, false);
      },

      async open(path, reveal = false, page = null) {
        set({ notice: null });
        try {
          const { atPage } = await client.documents.open({ path, reveal, ...(page ? { page } : {}) });
          const name = path.split(/[\\/]/).pop() ?? path;
          set({
            error: null,
            notice:
              atPage && !atPage.jumped
                ? `Opened ${name}; your viewer cannot jump to page ${atPage.page}.`
                : null,
          });
        } catch (error) {
          set({ error: asErrorInfo(error) });
        }
      },
      async ask() {
        const question = get().query.trim();
        if (!question) return;
        set({
          answer: { jobId: "", question, state: "running", sources: [], text: "", answer: null, error: null },
        });
        try {
          const { jobId } = await client.documents.ask({
            question: question.slice(0, 2000),
            ...filterInput(),
          });
          set((s) => (s.answer ? { answer: { ...s.answer, jobId } } : {}));
        } catch (error) {
          set((s) => ({
            answer: s.answer ? { ...s.answer, state: "failed", error: asErrorInfo(error) } : null,
          }));
        }
      },
    };
  });

  const stop = client.on("answer.progress", (payload) => {
    const job = store.getState().answer;
    if (!job || (job.jobId && job.jobId !== payload.jobId)) return;
    const event = payload.event;
    const next: AnswerJob = { ...job, jobId: payload.jobId };
    if (event.type === "sources") next.sources = event.hits;
    else if (event.type === "text") next.text = job.text + event.delta;
    else if (event.type === "done")
      Object.assign(next, { state: "done", answer: event.answer, text: event.answer.answer });
    else Object.assign(next, { state: "failed", error: event.error });
    store.setState({ answer: next });
  });
  return Object.assign(store, { dispose: stop });
}
