/** A labelled progress bar; without a fraction it shows work going on of unknown length. */
export function ProgressBar({
  label,
  fraction,
  text,
}: {
  label: string;
  fraction: number | null;
  text?: string;
}) {
  return (
    <div className="progress">
      <progress
        aria-label={label}
        max={1}
        value={fraction === null ? undefined : fraction}
        aria-valuetext={text}
      />
      {text ? <span className="progress-text">{text}</span> : null}
    </div>
  );
}
