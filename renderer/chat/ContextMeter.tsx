/**
 * The model's window as a meter by the input, with a sentence before anything would not fit; for a
 * remote model the count is marked as an estimate.
 */
import { formatCount } from "../lib/format.ts";
import { type ContextEstimate, describeContext } from "./context-meter.ts";

export function ContextMeter({ estimate }: { estimate: ContextEstimate }) {
  const sentence = describeContext(estimate);
  const shown = Math.min(estimate.used, estimate.limit);
  const about = estimate.estimated ? "~" : "";
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
        aria-valuetext={`${estimate.estimated ? "about " : ""}${formatCount(estimate.used)} of ${formatCount(estimate.limit)} tokens${estimate.estimated ? " (estimated)" : ""}`}
      >
        <div className="meter-fill" style={{ width: `${(100 * shown) / estimate.limit}%` }} />
      </div>
      <span className="meter-count">
        {about}
        {formatCount(estimate.used)} / {formatCount(estimate.limit)}
        {estimate.estimated ? (
          <span
            className="meter-estimated"
            title="This model runs on its engine with its own tokenizer: Elmwood uses the counts the engine reports and estimates the rest from the text's length."
          >
            {" "}
            estimated
          </span>
        ) : null}
      </span>
      {sentence ? (
        <p className="meter-warning" role={estimate.level === "full" ? "alert" : "status"}>
          {sentence}
        </p>
      ) : null}
    </div>
  );
}
