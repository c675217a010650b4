import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import { ImportMapping, duplicateFields, type MappingChoice } from "./ImportMapping";
import { importQuery } from "../api/imports";
import type { Field } from "../schema";

const field = (name: string, extra: Partial<Field> = {}): Field => ({
  name,
  kind: "string",
  schema: {},
  options: [],
  computed: false,
  indexed: false,
  ...extra,
});
const fields: Field[] = [
  field("name", { indexed: true, schema: { title: "Account name" } }),
  field("tier", { kind: "enum", options: ["starter", "growth"], indexed: true }),
  field("health", { kind: "integer" }),
  field("score", { kind: "integer", computed: true }),
];
const automatic: MappingChoice = {
  mapping: [
    { header: "Company", field: "name" },
    { header: "Tier", field: "tier" },
    { header: "Notes", field: null },
  ],
  key: "",
  workflows: true,
  skipFailed: false,
};

/** The mapping step with its state, as the wizard holds it. */
function Harness({ onChange }: { onChange: (choice: MappingChoice) => void }) {
  const [choice, setChoice] = useState(automatic);
  return (
    <ImportMapping
      fields={fields}
      value={choice}
      onChange={(next) => {
        setChoice(next);
        onChange(next);
      }}
    />
  );
}

describe("ImportMapping", () => {
  it("starts from the automatic match, one row per column", () => {
    render(<Harness onChange={() => {}} />);
    expect((screen.getByTestId("map-Company") as HTMLSelectElement).value).toBe("name");
    expect((screen.getByTestId("map-Tier") as HTMLSelectElement).value).toBe("tier");
    expect((screen.getByTestId("map-Notes") as HTMLSelectElement).value).toBe("");
    // Computed fields can't be filled by a file.
    const options = within(screen.getByTestId("map-Notes")).getAllByRole("option").map((o) => (o as HTMLOptionElement).value);
    expect(options).toEqual(["", "name", "tier", "health"]);
    expect(screen.getByText("2 of 3 columns fill a field. Columns were matched by name or title; change any of them, or leave a column out.")).toBeTruthy();
  });

  it("maps a column to a field or leaves it out, and flags a field filled twice", () => {
    const onChange = vi.fn();
    render(<Harness onChange={onChange} />);
    fireEvent.change(screen.getByTestId("map-Notes"), { target: { value: "health" } });
    expect(onChange.mock.lastCall?.[0].mapping[2]).toEqual({ header: "Notes", field: "health" });
    fireEvent.change(screen.getByTestId("map-Tier"), { target: { value: "" } });
    expect(onChange.mock.lastCall?.[0].mapping[1]).toEqual({ header: "Tier", field: null });
    expect(screen.queryByRole("alert")).toBeNull();
    fireEvent.change(screen.getByTestId("map-Tier"), { target: { value: "name" } });
    expect(screen.getAllByRole("alert")).toHaveLength(2);
    expect(duplicateFields(onChange.mock.lastCall?.[0].mapping)).toEqual(["name"]);
  });

  it("offers only mapped indexed fields as the upsert key, and drops a key whose column goes", () => {
    const onChange = vi.fn();
    render(<Harness onChange={onChange} />);
    const keys = () => within(screen.getByTestId("import-key")).getAllByRole("option").map((o) => (o as HTMLOptionElement).value);
    expect(keys()).toEqual(["", "name", "tier"]);
    fireEvent.change(screen.getByTestId("import-key"), { target: { value: "name" } });
    expect(onChange.mock.lastCall?.[0].key).toBe("name");
    fireEvent.change(screen.getByTestId("map-Company"), { target: { value: "" } });
    expect(onChange.mock.lastCall?.[0].key).toBe("");
    expect(keys()).toEqual(["", "tier"]);
  });

  it("turns workflows and skipping failed rows on and off", () => {
    const onChange = vi.fn();
    render(<Harness onChange={onChange} />);
    fireEvent.click(screen.getByTestId("import-workflows"));
    expect(onChange.mock.lastCall?.[0].workflows).toBe(false);
    fireEvent.click(screen.getByTestId("import-skip-failed"));
    expect(onChange.mock.lastCall?.[0].skipFailed).toBe(true);
  });

  it("sends every choice explicitly in the import's query string", () => {
    const query = importQuery({ ...automatic, key: "name", workflows: false, skipFailed: true, dryRun: true });
    expect(query.getAll("map")).toEqual(["Company:name", "Tier:tier", "Notes:"]);
    expect(query.get("key")).toBe("name");
    expect(query.get("workflows")).toBe("false");
    expect(query.get("mode")).toBe("resumable");
    expect(query.get("dry_run")).toBe("true");
  });
});
