/**
 * The Content-Security-Policy of Elmwood's page, in one place for both doors that serve it: the
 * desktop window (main/security.ts adds it to every response) and browser mode (the loopback server's
 * static files). renderer/index.html carries the same policy in a meta tag, checked by a test.
 * The page may load only what ships with the app; nothing may frame it, post it, or re-base it.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
