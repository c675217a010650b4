import type { FormDefinition } from "../schema";
import { definitionChanges } from "./VersionsTab";
import { problemRange } from "./ScriptEditor";

describe("versions diff", () => {
  it("lists field-level changes, then the other parts, ignoring key order", () => {
    const v1 = {
      title: "Account",
      schema: { type: "object", properties: { name: { type: "string" }, arr: { type: "number" }, old: { type: "string" } } },
      indexes: ["name"],
    } as FormDefinition;
    const v2 = {
      schema: { properties: { arr: { minimum: 0, type: "number" }, name: { type: "string" }, tier: { type: "string", enum: ["a"] } }, type: "object" },
      indexes: ["name", "tier"],
      title: "Account",
    } as FormDefinition;
    expect(definitionChanges(v1, v2).map((c) => [c.what, c.kind])).toEqual([
      ["arr", "changed"],
      ["old", "removed"],
      ["tier", "added"],
      ["@indexes", "changed"],
    ]);
    expect(definitionChanges(v1, v1)).toEqual([]);
  });
});

describe("script errors in the editor", () => {
  it("marks the word at the server's line and column", () => {
    const doc = "let x = 1;\nx + nope(2)";
    expect(problemRange(doc, { message: "", line: 2, column: 5 })).toEqual({ from: 15, to: 19 });
    // Past the end (an incomplete script): a point at the end.
    expect(problemRange("1 +", { message: "", line: 1, column: 4 })).toEqual({ from: 3, to: 3 });
    expect(problemRange("1", { message: "" })).toEqual({ from: 0, to: 1 });
  });
});
