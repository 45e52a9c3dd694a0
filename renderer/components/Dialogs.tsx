/** The two dialogs the app needs: a confirmation for what cannot be undone, and one text field. */
import { type FormEvent, useEffect, useState } from "react";
import { Modal } from "./Modal.tsx";

export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirm,
  onConfirm,
}: {
  open: boolean;
  onOpenChange(open: boolean): void;
  title: string;
  description: string;
  confirm: string;
  onConfirm(): void;
}) {
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={title} description={description}>
      <div className="dialog-actions">
        {/* biome-ignore lint/a11y/noAutofocus: the safe choice takes focus in a destructive dialog */}
        <button type="button" className="button subtle" autoFocus onClick={() => onOpenChange(false)}>
          Cancel
        </button>
        <button type="button" className="button danger" onClick={onConfirm}>
          {confirm}
        </button>
      </div>
    </Modal>
  );
}

export function TextDialog({
  open,
  onOpenChange,
  title,
  label,
  initial,
  submit,
  onSubmit,
}: {
  open: boolean;
  onOpenChange(open: boolean): void;
  title: string;
  label: string;
  initial: string;
  submit: string;
  onSubmit(value: string): void;
}) {
  const [value, setValue] = useState(initial);
  useEffect(() => {
    if (open) setValue(initial);
  }, [open, initial]);
  const save = (event: FormEvent) => {
    event.preventDefault();
    if (!value.trim()) return;
    onSubmit(value.trim());
    onOpenChange(false);
  };
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={title}>
      <form onSubmit={save}>
        <label className="field">
          <span>{label}</span>
          {/* biome-ignore lint/a11y/noAutofocus: the dialog exists to edit this field */}
          <input value={value} maxLength={200} autoFocus onChange={(e) => setValue(e.target.value)} />
        </label>
        <div className="dialog-actions">
          <button type="button" className="button subtle" onClick={() => onOpenChange(false)}>
            Cancel
          </button>
          <button className="button primary" type="submit" disabled={!value.trim()}>
            {submit}
          </button>
        </div>
      </form>
    </Modal>
  );
}
