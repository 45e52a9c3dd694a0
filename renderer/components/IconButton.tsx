/** A button drawn as an icon: its label is its accessible name and its tooltip. */
import * as Tooltip from "@radix-ui/react-tooltip";
import { type ComponentPropsWithoutRef, forwardRef, type ReactNode } from "react";

type Props = Omit<ComponentPropsWithoutRef<"button">, "aria-label" | "children"> & {
  label: string;
  icon: ReactNode;
  /** Shown beside the icon too. */
  text?: string;
};

export const IconButton = forwardRef<HTMLButtonElement, Props>(function IconButton(
  { label, icon, text, className, ...rest },
  ref,
) {
  return (
    <Tooltip.Root>
      <Tooltip.Trigger asChild>
        <button
          ref={ref}
          type="button"
          aria-label={label}
          className={`icon-button${text ? " with-text" : ""}${className ? ` ${className}` : ""}`}
          {...rest}
        >
          {icon}
          {text ? <span>{text}</span> : null}
        </button>
      </Tooltip.Trigger>
      {/* Not portalled to <body>: beside its button, the tip stays inside the button's landmark (and
          inside an open <dialog>, which a portal would put it behind). It is position: fixed, so no
          overflow clips it. */}
      <Tooltip.Content className="tooltip" sideOffset={6}>
        {label}
      </Tooltip.Content>
    </Tooltip.Root>
  );
});
