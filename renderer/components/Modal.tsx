/**
 * A modal dialog on the browser's own <dialog>: focus is trapped and restored, Escape closes, the rest
 * of the page is inert, all without injecting a <style> element (the CSP allows none, and the Radix
 * dialog's scroll lock injects one).
 */
import { type ReactNode, useEffect, useId, useRef } from "react";

export function Modal({
  open,
  onOpenChange,
  title,
  description,
  className = "dialog",
  header,
  children,
}: {
  open: boolean;
  onOpenChange(open: boolean): void;
  title: string;
  description?: ReactNode;
  className?: string;
  /** Drawn beside the title (a close button). */
  header?: ReactNode;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descriptionId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    else if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog
      ref={ref}
      className={className}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      onClose={() => onOpenChange(false)}
      onClick={(event) => {
        // A click on the backdrop lands on the dialog element itself.
        if (event.target === ref.current) onOpenChange(false);
      }}
      onKeyDown={(event) => {
        // Escape closes this dialog only; it must not also stop a reply behind it.
        if (event.key === "Escape") event.stopPropagation();
      }}
    >
      {open ? (
        <div className="dialog-body">
          <header className="dialog-header">
            <h2 id={titleId} className="dialog-title">
              {title}
            </h2>
            {header}
          </header>
          {description ? (
            <p id={descriptionId} className="dialog-description">
              {description}
            </p>
          ) : null}
          {children}
        </div>
      ) : null}
    </dialog>
  );
}
