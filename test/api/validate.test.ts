import { describe, expect, it } from "vitest";
import { CALL_NAMES, calls, EVENT_NAMES, events } from "../../engine/api/contract.ts";
import { toErrorInfo, validateCall } from "../../engine/api/validate.ts";
import { ElmwoodError } from "../../engine/errors.ts";

function refusal(name: string, input: unknown): ElmwoodError {
  try {
    validateCall(name, input);
  } catch (error) {
    if (error instanceof ElmwoodError) return error;
    throw error;
  }
  throw new Error(`${name} accepted ${JSON.stringify(input)}`);
}

describe("the contract", () => {
  it("lists the same calls and events as the names the preload binds", () => {
    expect(Object.keys(calls).sort()).toEqual([...CALL_NAMES].sort());
    expect(Object.keys(events).sort()).toEqual([...EVENT_NAMES].sort());
  });
});

describe("validateCall", () => {
  it("fills in defaults", () => {
    expect(validateCall("conversations.list", {})).toEqual({ limit: 100, offset: 0 });
    expect(validateCall("status.get", undefined)).toEqual({});
  });

  it("refuses an unknown call name", () => {
    expect(refusal("chat.explode", {})).toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("chat.explode"),
    });
  });

  it("names a nested field that is out of range", () => {
    const error = refusal("conversations.updateSettings", { id: "c1", sampling: { topP: 0 } });
    expect(error.code).toBe("BAD_INPUT");
    expect(error.message).toContain("'sampling.topP'");
    expect(error.hint).toBeTruthy();
  });

  it("names a missing field, and a wrong type inside an array", () => {
    expect(refusal("chat.send", {}).message).toContain("'content' is required");
    expect(refusal("completions.create", { messages: [{ role: "user", content: 5 }] }).message).toContain(
      "'messages[0].content'",
    );
  });

  it("refuses fields the call does not have", () => {
    expect(refusal("chat.send", { content: "hi", admin: true }).message).toContain("unknown field 'admin'");
  });

  it("bounds what crosses the boundary: text length, list size, ids", () => {
    expect(refusal("chat.send", { content: "x".repeat(32_001) }).message).toContain("'content'");
    const many = Array.from({ length: 257 }, () => ({ role: "user", content: "hi" }));
    expect(refusal("completions.create", { messages: many }).message).toContain("'messages'");
    expect(refusal("conversations.get", { id: "../secret" }).message).toContain("'id'");
    expect(refusal("models.load", { threads: 10_000 }).message).toContain("'threads'");
  });

  it("asks for exactly one of path or text to summarize", () => {
    expect(refusal("documents.summarize", {}).message).toContain("exactly one of path or text");
    expect(refusal("documents.summarize", { path: "/a", text: "b" }).message).toContain("exactly one");
    expect(validateCall("documents.summarize", { text: "b" })).toEqual({ text: "b" });
  });

  it("refuses a non-object input", () => {
    expect(refusal("chat.send", "hello").message).toContain("expected object");
  });
});

describe("errors crossing a door", () => {
  it("keep an ElmwoodError's code, message and hint", () => {
    expect(toErrorInfo(new ElmwoodError("BUSY", "The model is busy.", "Try again."))).toEqual({
      code: "BUSY",
      message: "The model is busy.",
      hint: "Try again.",
    });
  });

  it("turn anything else into INTERNAL with a way forward", () => {
    const info = toErrorInfo(new TypeError("x is undefined"));
    expect(info).toMatchObject({ code: "INTERNAL", message: expect.stringContaining("x is undefined") });
    expect(info.hint).toBeTruthy();
  });
});
