import { cloneElement, isValidElement, type ComponentChildren } from "preact";
import { useState } from "preact/hooks";

let counter = 0;

/** A labelled control with the API's error for it right beside it (and tied to it for screen readers). */
export function Field({
  label,
  error,
  children,
}: {
  label: string;
  error?: string | undefined;
  children: ComponentChildren;
}) {
  const [id] = useState(() => `field-${++counter}`);
  const errorId = `${id}-error`;
  const control = isValidElement(children)
    ? cloneElement(children, {
        id,
        "aria-invalid": error ? "true" : undefined,
        "aria-describedby": error ? errorId : undefined,
      })
    : children;
  return (
    <div class={`field${error ? " invalid" : ""}`}>
      <label for={id}>{label}</label>
      {control}
      {error && (
        <span class="field-error" id={errorId}>
          {error}
        </span>
      )}
    </div>
  );
}
