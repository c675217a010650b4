import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { FilterBuilder } from "./FilterBuilder";
import type { Field } from "../schema";

const fields: Field[] = [
  { name: "health", kind: "integer", schema: {}, options: [], computed: true, indexed: true },
  { name: "tier", kind: "enum", schema: {}, options: ["starter", "growth", "enterprise"], computed: false, indexed: true },
];

describe("FilterBuilder", () => {
  it("adds a condition chip by chip and writes the filter language", () => {
    const onChange = vi.fn();
    const { rerender } = render(<FilterBuilder fields={fields} filter="" onChange={onChange} />);
    fireEvent.click(screen.getByTestId("add-condition"));
    fireEvent.change(screen.getByTestId("condition-field"), { target: { value: "health" } });
    fireEvent.change(screen.getByTestId("condition-op"), { target: { value: "<" } });
    fireEvent.change(screen.getByTestId("condition-value"), { target: { value: "50" } });
    fireEvent.click(screen.getByTestId("condition-add"));
    expect(onChange).toHaveBeenLastCalledWith("health < 50");

    rerender(<FilterBuilder fields={fields} filter="health < 50" onChange={onChange} />);
    expect(screen.getAllByTestId("filter-chip")).toHaveLength(1);
    fireEvent.click(screen.getByTestId("add-condition"));
    fireEvent.change(screen.getByTestId("condition-field"), { target: { value: "tier" } });
    // An enum field offers its options rather than a text box.
    const value = screen.getByTestId("condition-value");
    expect(value.tagName).toBe("SELECT");
    fireEvent.change(value, { target: { value: "enterprise" } });
    fireEvent.click(screen.getByTestId("condition-add"));
    expect(onChange).toHaveBeenLastCalledWith('health < 50 and tier = "enterprise"');
  });

  it("removes a chip and keeps the others", () => {
    const onChange = vi.fn();
    render(<FilterBuilder fields={fields} filter='health < 50 and tier = "growth"' onChange={onChange} />);
    const chips = screen.getAllByTestId("filter-chip");
    expect(chips.map((c) => c.textContent)).toEqual(["Health less than 50×", "Tier is growth×"]);
    fireEvent.click(screen.getByRole("button", { name: "Remove Health less than 50" }));
    expect(onChange).toHaveBeenLastCalledWith('tier = "growth"');
  });

  it("shows no chips, and no add button, for a filter only the raw box can hold", () => {
    render(<FilterBuilder fields={fields} filter='health < 50 or tier = "growth"' onChange={() => {}} />);
    expect(screen.queryAllByTestId("filter-chip")).toHaveLength(0);
    expect(screen.queryByTestId("add-condition")).toBeNull();
    expect(screen.getByTestId("clear-filter")).toBeTruthy();
  });
});
