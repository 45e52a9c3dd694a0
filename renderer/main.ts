/** A calm placeholder until the chat view arrives: the name, what comes next, and the version running. */

interface ElmwoodBridge {
  readonly version: string;
}

declare global {
  interface Window {
    /** Set by the preload; absent when the page is opened outside the app. */
    readonly elmwood?: ElmwoodBridge;
  }
}

function paragraph(text: string, className?: string): HTMLParagraphElement {
  const element = document.createElement("p");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function renderPlaceholder(root: HTMLElement): void {
  const section = document.createElement("section");
  section.className = "placeholder";
  const title = document.createElement("h1");
  title.textContent = "Elmwood";
  const version = window.elmwood?.version;
  section.append(
    title,
    paragraph("Private OpenELM models, running on this computer. The chat arrives next."),
    paragraph(version ? `Version ${version}` : "Version unknown: opened outside the app.", "version"),
  );
  root.replaceChildren(section);
}

const root = document.getElementById("app");
if (root) renderPlaceholder(root);

// A module, so the `declare global` above augments Window rather than declaring a new global scope.
export {};
