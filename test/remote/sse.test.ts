/** Server-sent events read as they arrive, however the bytes are split. */
import { describe, expect, it } from "vitest";
import { SseParser } from "../../engine/remote/sse.ts";

describe("reading an event stream", () => {
  const stream =
    'data: {"a":1}\r\n\r\n: a comment\n\nevent: error\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n';

  it("gives the same events however the text is cut into chunks", () => {
    const whole = new SseParser().push(stream);
    expect(whole).toEqual([
      { event: "message", data: '{"a":1}' },
      { event: "error", data: "line one\nline two" },
      { event: "message", data: "[DONE]" },
    ]);
    for (let size = 1; size < 8; size++) {
      const parser = new SseParser();
      const events = [];
      for (let at = 0; at < stream.length; at += size)
        events.push(...parser.push(stream.slice(at, at + size)));
      expect(events).toEqual(whole);
    }
  });

  it("takes lines ended by a lone \\r", () => {
    expect(new SseParser().push("data: x\r\rdata: y\r\r")).toEqual([
      { event: "message", data: "x" },
      { event: "message", data: "y" },
    ]);
  });

  it("holds an event nothing closed, and says the stream stopped inside one", () => {
    const parser = new SseParser();
    expect(parser.push("data: half")).toEqual([]);
    expect(parser.unfinished).toBe(true);
  });
});
