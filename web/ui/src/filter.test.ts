import { describe, expect, it } from "vitest";
import { fromFilter, operatorsFor, toFilter } from "./filter";
import type { Field } from "./schema";

const field = (name: string, kind: Field["kind"], options: string[] = []): Field => ({ name, kind, schema: {}, options, computed: false, indexed: false });
const fields = [field("health", "integer"), field("tier", "enum", ["starter", "growth", "enterprise"]), field("name", "string"), field("escalated", "boolean"), field("renewal_date", "date")];

describe("the filter language the builder writes", () => {
  it("quotes strings and dates, keeps numbers and booleans bare, joins with and", () => {
    const filter = toFilter(
      [
        { field: "health", op: "<", value: "50" },
        { field: "tier", op: "in", value: "growth, enterprise" },
        { field: "name", op: "contains", value: 'Acme "EU"' },
        { field: "escalated", op: "=", value: "true" },
        { field: "renewal_date", op: "<=", value: "2027-03-01" },
      ],
      fields,
    );
    expect(filter).toBe('health < 50 and tier in ["growth", "enterprise"] and name contains "Acme \\"EU\\"" and escalated = true and renewal_date <= "2027-03-01"');
  });

  it("leaves out conditions with no value yet", () => {
    expect(toFilter([{ field: "health", op: ">", value: " " }], fields)).toBe("");
  });

  it("quotes what is not a number on a number field, so the server names the mistake", () => {
    expect(toFilter([{ field: "health", op: "<", value: "fifty" }], fields)).toBe('health < "fifty"');
  });

  it("reads its own output back into the same conditions", () => {
    const conditions = [
      { field: "health", op: "<" as const, value: "50" },
      { field: "tier", op: "in" as const, value: "growth, enterprise" },
      { field: "name", op: "contains" as const, value: "a and b" },
    ];
    expect(fromFilter(toFilter(conditions, fields))).toEqual(conditions);
  });

  it("gives up on filters the chips can't show (or, not, parentheses)", () => {
    expect(fromFilter("health < 50 or tier = \"growth\"")).toBeNull();
    expect(fromFilter("not escalated = true")).toBeNull();
    expect(fromFilter("(health < 50)")).toBeNull();
    expect(fromFilter("")).toEqual([]);
    expect(fromFilter('name = "x or y"')).toEqual([{ field: "name", op: "=", value: "x or y" }]);
  });

  it("offers the operators each kind of field supports", () => {
    expect(operatorsFor(fields[0])).toContain("<");
    expect(operatorsFor(fields[0])).not.toContain("contains");
    expect(operatorsFor(fields[1])).toContain("in");
    expect(operatorsFor(fields[2])).toContain("contains");
    expect(operatorsFor(fields[3])).toEqual(["=", "!="]);
  });
});

