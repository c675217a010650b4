import { describe, expect, it } from "vitest";
import { flatChanges, mergePatch } from "./diff";

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
