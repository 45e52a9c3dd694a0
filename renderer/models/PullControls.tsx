/**
 * A catalog model's download, whatever state it is in: Download; the bar with speed and time left,
 * Pause and Cancel while it runs; Resume and Cancel when paused or left partial; conversion steps.
 */
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { formatBytes, formatEta, formatRate, percent } from "../lib/format.ts";
import { jobFor } from "../stores/models-store.ts";
import { useModels, useStores } from "../stores/stores.tsx";
import { isActive, jobFraction, type ModelJob } from "./job-progress.ts";

export function jobText(job: ModelJob): string {
  if (job.phase === "converting" && job.convert) {
    return `Converting (${job.convert.phase}): step ${job.convert.done} of ${job.convert.total}`;
  }
  if (job.phase === "downloading" && job.totalBytes > 0) {
    const parts = [
      `${formatBytes(job.bytes)} of ${formatBytes(job.totalBytes)}`,
      job.bytesPerSecond > 0 ? formatRate(job.bytesPerSecond) : null,
      formatEta(job.etaSeconds),
    ];
    return parts.filter(Boolean).join(" · ");
  }
  return job.detail;
}

/** What a download button needs to know of a catalog entry (an OpenELM model or the embedding model). */
export interface Pullable {
  repoId: string;
  /** Store names installed from it. */
  installed: string[];
  downloadBytes: number;
}

export function PullControls({ item, primary }: { item: Pullable; primary?: boolean }) {
  const { models } = useStores();
  const job = useModels((s) => jobFor(s.jobs, item.repoId));
  const partial = useModels((s) =>
    s.downloads.find((d) => !d.complete && d.repoId.toLowerCase() === item.repoId.toLowerCase()),
  );
  const name = item.repoId.split("/").pop() ?? item.repoId;
  const actions = models.getState();

  if (job && isActive(job)) {
    const fraction = jobFraction(job);
    const canPause = job.phase === "downloading" || job.phase === "starting" || job.phase === "waiting";
    return (
      <div className="pull">
        <ProgressBar
          label={`Downloading ${name}`}
          fraction={fraction}
          text={`${fraction !== null ? `${percent(fraction)} · ` : ""}${jobText(job)}`}
        />
        <div className="row">
          {canPause ? (
            <button type="button" className="button" onClick={() => void actions.pause(item.repoId)}>
              Pause
            </button>
          ) : null}
          <button type="button" className="button subtle" onClick={() => void actions.cancel(item.repoId)}>
            Cancel
          </button>
        </div>
      </div>
    );
  }

  const paused = job?.phase === "paused" || partial !== undefined;
  const failed = job?.phase === "failed" ? job : null;
  if (paused) {
    const present = partial ? partial.presentBytes : (job?.bytes ?? 0);
    const total = partial ? partial.totalBytes : (job?.totalBytes ?? 0);
    return (
      <div className="pull">
        <ProgressBar
          label={`Downloading ${name} (paused)`}
          fraction={total > 0 ? present / total : null}
          text={`Paused at ${formatBytes(present)}${total > 0 ? ` of ${formatBytes(total)}` : ""}`}
        />
        <div className="row">
          <button type="button" className="button primary" onClick={() => void actions.pull(item.repoId)}>
            Resume
          </button>
          <button type="button" className="button subtle" onClick={() => void actions.cancel(item.repoId)}>
            Cancel
          </button>
        </div>
      </div>
    );
  }

  const size = formatBytes(item.downloadBytes);
  const downloadText = failed
    ? `Try again (${size})`
    : primary
      ? `Download ${name} (${size})`
      : `Download (${size})`;
  // The name begins with the words on the button (so "click Download" works by voice) and adds the
  // model where the button does not show it.
  const downloadLabel =
    primary && !failed ? downloadText : `${downloadText}: ${failed ? "download " : ""}${name}`;

  return (
    <div className="pull">
      {failed?.error ? (
        <ErrorNotice
          title={`${name} was not installed`}
          error={failed.error}
          onDismiss={() => actions.dismissJob(failed.jobId)}
        />
      ) : null}
      {item.installed.length > 0 ? (
        <p className="installed-note">Installed as {item.installed.join(", ")}</p>
      ) : (
        <button
          type="button"
          className={`button${primary ? " primary large" : ""}`}
          aria-label={downloadLabel}
          onClick={() => void actions.pull(item.repoId)}
        >
          {downloadText}
        </button>
      )}
    </div>
  );
}
