import { describe, expect, it } from "vitest";
import { canonical, changes, flatChanges, mergePatch } from "./diff";

describe("what a save sends and what history shows", () => {
  it("sends only changed fields, and null for removed ones", () => {
    expect(mergePatch({ a: 1, b: "x", c: true }, { a: 2, b: "x" })).toEqual({ a: 2, c: null });
  });

  it("opens a changed checklist into its items", () => {
    expect(flatChanges({ checklist: { sso: true }, stage: "setup" }, { checklist: { sso: true, data_import: true }, stage: "setup" })).toEqual([
      { field: "checklist.data_import", before: undefined, after: true },
    ]);
  });
});

describe("canonical", () => {
  it("ignores key order at every depth, not array order", () => {
    expect(canonical({ b: 1, a: { d: [2, 1], c: null } })).toBe(canonical({ a: { c: null, d: [2, 1] }, b: 1 }));
    expect(canonical([1, 2])).not.toBe(canonical([2, 1]));
    expect(changes({ x: { a: 1, b: 2 } }, { x: { b: 2, a: 1 } })).toEqual([]);
  });
});
