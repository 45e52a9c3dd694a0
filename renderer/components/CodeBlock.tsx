/**
 * A fenced code block: highlighted by highlight.js (a few common languages, to keep the page small) with
 * a copy button. highlight.js escapes the code it is given, so its HTML is safe to place.
 */
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import markdown from "highlight.js/lib/languages/markdown";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";
import { useMemo, useState } from "react";
import { CopyIcon } from "./icons.tsx";

for (const [name, language] of Object.entries({
  bash,
  c,
  cpp,
  css,
  go,
  java,
  javascript,
  json,
  markdown,
  python,
  rust,
  sql,
  typescript,
  xml,
  yaml,
})) {
  hljs.registerLanguage(name, language);
}

export function highlight(code: string, language: string | null): { html: string; language: string | null } {
  if (language && hljs.getLanguage(language)) {
    return { html: hljs.highlight(code, { language, ignoreIllegals: true }).value, language };
  }
  if (code.length > 20_000) return { html: hljs.highlight(code, { language: "plaintext" }).value, language };
  const auto = hljs.highlightAuto(code);
  return { html: auto.value, language: language ?? auto.language ?? null };
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function CodeBlock({ code, language }: { code: string; language: string | null }) {
  const highlighted = useMemo(() => highlight(code, language), [code, language]);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    if (await copyText(code)) {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    }
  };
  return (
    <figure className="code-block">
      <figcaption>
        <span>{highlighted.language ?? "text"}</span>
        <button type="button" className="copy-code" onClick={copy} aria-label="Copy code">
          <CopyIcon />
          <span aria-live="polite">{copied ? "Copied" : "Copy"}</span>
        </button>
      </figcaption>
      <pre>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: highlight.js escapes the code it highlights */}
        <code className="hljs" dangerouslySetInnerHTML={{ __html: highlighted.html }} />
      </pre>
    </figure>
  );
}
