/**
 * A reply as Markdown. react-markdown builds React elements and never raw HTML, so a reply cannot
 * inject markup; links open outside the app (the shell hands http(s) links to the system browser),
 * except links within the page, which move there.
 */
import { memo } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import { CodeBlock } from "./CodeBlock.tsx";

const components: Components = {
  // The code block draws its own <pre>.
  pre: ({ children }) => <>{children}</>,
  code({ className, children }) {
    const text = String(children ?? "");
    const language = /language-([\w+-]+)/.exec(className ?? "")?.[1] ?? null;
    if (language === null && !text.includes("\n")) return <code className="inline-code">{children}</code>;
    return <CodeBlock code={text.replace(/\n$/, "")} language={language} />;
  },
  a: ({ href, children }) =>
    href?.startsWith("#") ? (
      // A link within the page (a grounded reply's [1] to its source): go there, open it, focus it.
      <a
        href={href}
        className="in-page"
        onClick={(event) => {
          event.preventDefault();
          const target = document.getElementById(href.slice(1));
          if (target instanceof HTMLDetailsElement) target.open = true;
          target?.scrollIntoView?.({ block: "center" });
          target?.focus();
        }}
      >
        {children}
      </a>
    ) : (
      <a href={href} target="_blank" rel="noreferrer noopener">
        {children}
      </a>
    ),
};

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm]} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});
