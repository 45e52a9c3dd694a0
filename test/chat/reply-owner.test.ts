import { describe, expect, it } from "vitest";
import { newOwner, ownerGone } from "../../engine/chat/reply-owner.ts";

describe("who is writing a reply in progress", () => {
  const self = newOwner(100);
  const alive = (pid: number) => pid === 200;

  it("is never gone when it is this service", () => {
    expect(ownerGone(self, self, alive)).toBe(false);
  });

  it("is gone when its process is not running", () => {
    expect(ownerGone("300:abcd1234", self, alive)).toBe(true);
  });

  it("is left alone while its process runs (another app on the same profile)", () => {
    expect(ownerGone("200:abcd1234", self, alive)).toBe(false);
  });

  it("is gone when it had this process's id but is not this service (a restart that reused the id)", () => {
    expect(ownerGone("100:0000aaaa", self, () => true)).toBe(true);
  });

  it("is gone when it cannot be read", () => {
    expect(ownerGone("garbage", self, () => true)).toBe(true);
  });

  it("checks real processes by default: this one runs", () => {
    expect(ownerGone(newOwner(process.ppid), newOwner(), undefined)).toBe(false);
  });
});
