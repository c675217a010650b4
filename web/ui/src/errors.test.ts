import { describe, expect, it } from "vitest";
import { errorSchemaFrom, fieldOfPointer } from "./errors";

describe("server errors placed at their fields", () => {
  it("turns JSON pointers into @rjsf's error schema", () => {
    const { schema, general } = errorSchemaFrom([
      { path: "/usage_score", message: "must be at most 100" },
      { path: "/usage_score", message: "must be an integer" },
      { path: "/address/city", message: "required" },
      { path: "/contacts/0/email", message: "must be an email address" },
    ]);
    expect(schema).toEqual({
      usage_score: { __errors: ["must be at most 100", "must be an integer"] },
      address: { city: { __errors: ["required"] } },
      contacts: { "0": { email: { __errors: ["must be an email address"] } } },
    });
    expect(general).toEqual([]);
  });

  it("keeps errors about the whole record apart", () => {
    const { schema, general } = errorSchemaFrom([{ path: "", message: "a rule failed" }]);
    expect(schema).toEqual({});
    expect(general).toEqual(["a rule failed"]);
  });

  it("unescapes ~1 and ~0 in pointer tokens", () => {
    expect(errorSchemaFrom([{ path: "/a~1b/c~0d", message: "x" }]).schema).toEqual({ "a/b": { "c~d": { __errors: ["x"] } } });
    expect(fieldOfPointer("/a~1b/c")).toBe("a/b");
    expect(fieldOfPointer("")).toBeNull();
  });
});
