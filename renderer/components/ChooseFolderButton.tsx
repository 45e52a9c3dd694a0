/**
 * "Choose…" beside a folder field: the desktop app's folder picker. Nothing in browser mode, where a
 * page cannot pick a folder on disk, so the field is typed instead.
 */
import { useStores } from "../stores/stores.tsx";

interface Props {
  /** The accessible name, when "Choose…" beside its field would not say which folder. */
  label?: string;
  disabled?: boolean;
  onChosen: (folder: string) => void;
}

export function ChooseFolderButton({ label, disabled, onChosen }: Props) {
  const { extras } = useStores();
  if (!extras.chooseFolder) return null;
  return (
    <button
      type="button"
      className="button"
      aria-label={label}
      disabled={disabled}
      onClick={async () => {
        const chosen = await extras.chooseFolder?.();
        if (chosen) onChosen(chosen);
      }}
    >
      Choose…
    </button>
  );
}
