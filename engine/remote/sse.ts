/**
 * Server-sent events as the WHATWG spec parses them, fed text as it arrives: lines end in \n, \r\n
 * or \r; `data:` lines of one event are joined with \n; a blank line ends the event; comments (":")
 * and unknown fields are ignored. An event still open when the stream ends is dropped, as the spec
 * says, since nothing closed it.
 */
export interface SseEvent {
  /** The `event:` field, "message" when there was none. */
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  /** A \r ended the last chunk: a \n starting the next one belongs to it. */
  private pendingCr = false;

  push(text: string): SseEvent[] {
    let input = text;
    if (this.pendingCr && input.startsWith("\n")) input = input.slice(1);
    this.pendingCr = false;
    this.buffer += input;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone \r at the very end may be the first half of \r\n.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) {
        this.pendingCr = true;
      }
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** Characters held for the event being read (a line not ended yet, data lines not dispatched). */
  get held(): number {
    return this.buffer.length + this.data.reduce((sum, line) => sum + line.length, 0);
  }

  /** Bytes held that never ended a line: a stream cut in the middle of an event. */
  get unfinished(): boolean {
    return this.buffer.length > 0 || this.data.length > 0;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      if (this.data.length === 0) {
        this.event = "";
        return undefined;
      }
      const event = { event: this.event || "message", data: this.data.join("\n") };
      this.data = [];
      this.event = "";
      return event;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    return undefined;
  }
}
