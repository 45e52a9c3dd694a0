/** The 2048-token window as a meter by the input, with a sentence before anything would not fit. */
import { formatCount } from "../lib/format.ts";
import { type ContextEstimate, describeContext } from "./context-meter.ts";

export function ContextMeter({ estimate }: { estimate: ContextEstimate }) {
  const sentence = describeContext(estimate);
  const shown = Math.min(estimate.used, estimate.limit);
  return (
    <div className={`context-meter level-${estimate.level}`}>
      {/* biome-ignore lint/a11y/useSemanticElements: a native <meter> cannot take the theme's three levels */}
      <div
        className="meter-track"
        role="meter"
        aria-label="Context used"
        aria-valuemin={0}
        aria-valuemax={estimate.limit}
        aria-valuenow={shown}
        aria-valuetext={`${formatCount(estimate.used)} of ${formatCount(estimate.limit)} tokens`}
      >
        <div className="meter-fill" style={{ width: `${(100 * shown) / estimate.limit}%` }} />
      </div>
      <span className="meter-count">
        {formatCount(estimate.used)} / {formatCount(estimate.limit)}
      </span>
      {sentence ? (
        <p className="meter-warning" role={estimate.level === "full" ? "alert" : "status"}>
          {sentence}
        </p>
      ) : null}
    </div>
  );
}
