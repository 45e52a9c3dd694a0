import { describe, expect, it } from "vitest";
import { StopStringFilter } from "../../engine/runtime/stop-strings.ts";

describe("stop strings", () => {
  it("holds back text that might start a stop string and releases it when it does not", () => {
    const f = new StopStringFilter(["<|user|>"]);
    expect(f.push("Hello <|")).toBe("Hello ");
    expect(f.push("us")).toBe("");
    expect(f.push("a")).toBe("<|usa");
    expect(f.hit).toBe(false);
  });

  it("cuts the text at a stop string split across pieces", () => {
    const f = new StopStringFilter(["</s>", "<|user|>"]);
    expect(f.push("Answer.<|u")).toBe("Answer.");
    expect(f.push("ser|>\nmore")).toBe("");
    expect(f.hit).toBe(true);
    expect(f.flush()).toBe("");
  });

  it("flush releases held text at the end", () => {
    const f = new StopStringFilter(["STOP"]);
    expect(f.push("go ST")).toBe("go ");
    expect(f.flush()).toBe("ST");
  });
});
