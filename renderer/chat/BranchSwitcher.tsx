/** "< 2/3 >": moves between a message's alternatives (edits of a question, regenerated replies). */
import { ChevronLeftIcon, ChevronRightIcon } from "../components/icons.tsx";
import { branchPosition } from "./chat-reducer.ts";

export function BranchSwitcher({
  id,
  siblingIds,
  siblingIndex,
  disabled,
  onSwitch,
}: {
  id: string;
  siblingIds: string[];
  siblingIndex: number;
  disabled?: boolean;
  onSwitch(messageId: string): void;
}) {
  const { index, count, previousId, nextId } = branchPosition({ id, siblingIds, siblingIndex });
  if (count < 2) return null;
  return (
    <fieldset className="branch-switcher" aria-label="Versions">
      <button
        type="button"
        className="icon-button"
        aria-label="Previous version"
        disabled={disabled || previousId === null}
        onClick={() => previousId && onSwitch(previousId)}
      >
        <ChevronLeftIcon />
      </button>
      <span>
        {index + 1}/{count}
      </span>
      <button
        type="button"
        className="icon-button"
        aria-label="Next version"
        disabled={disabled || nextId === null}
        onClick={() => nextId && onSwitch(nextId)}
      >
        <ChevronRightIcon />
      </button>
    </fieldset>
  );
}
