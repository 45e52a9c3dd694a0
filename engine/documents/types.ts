/** The shapes that flow from extraction through chunking into the index and the summarizer. */

/** What a file is, as far as extraction is concerned. */
export type DocumentKind = "pdf" | "docx" | "html" | "markdown" | "text" | "code";

/** Where in a document a piece of text came from, for people and for links back. */
export interface Location {
  /** Shown to people: "page 3", "Installation › Linux", "lines 120–161". Empty for a whole file. */
  label: string;
  /** 1-based PDF page. */
  page?: number;
  /** The heading trail, outermost first (DOCX, HTML, Markdown). */
  headings?: string[];
  /** 1-based first and last line (plain text and source code). */
  lines?: [number, number];
}

/** A run of text that shares one location: a PDF page, the body under one heading. */
export interface Section {
  text: string;
  location: Location;
  /** How to cut this section: prose at sentence boundaries, code at line boundaries. */
  unit?: "sentence" | "line";
}

export interface ExtractedDocument {
  kind: DocumentKind;
  sections: Section[];
  /** The text encoding the file was read with (text-like kinds only). */
  encoding?: string;
  title?: string;
}

/** A piece of a document sized for the model and the index; knows where it came from. */
export interface Chunk {
  /** 0-based position within its document. */
  ordinal: number;
  text: string;
  location: Location;
  tokenCount: number;
}

/** Counts tokens of plain text (no BOS), with the model's real tokenizer in production. */
export type CountTokens = (text: string) => number;
