import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { ConflictDialog } from "./ConflictDialog";
import type { Field, TendRecord } from "../schema";

const fields: Field[] = [
  { name: "health", kind: "integer", schema: {}, options: [], computed: false, indexed: false },
  { name: "owner", kind: "string", schema: {}, options: [], computed: false, indexed: false },
  { name: "renewal_date", kind: "date", schema: {}, options: [], computed: false, indexed: false },
];
const base = { health: 60, owner: "ana@example.com", renewal_date: "2027-03-01" };
const theirs: TendRecord = {
  id: "0190f0a0-0000-7000-8000-000000000001",
  form: "account",
  version: 5,
  data: { health: 61, owner: "ben@example.com", renewal_date: "2027-03-01" },
  created_at: "2026-01-01T00:00:00Z",
  created_by: "token:a",
  updated_at: "2026-01-02T00:00:00Z",
  updated_by: "token:b",
};

describe("ConflictDialog", () => {
  it("lists what changed meanwhile, their value beside mine", () => {
    render(<ConflictDialog fields={fields} base={base} mine={{ ...base, health: 70 }} theirs={theirs} onKeepMine={() => {}} onTakeTheirs={() => {}} />);
    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByText(/version 5/)).toBeTruthy();
    const health = screen.getByTestId("conflict-health");
    expect(within(health).getAllByRole("cell").map((c) => c.textContent)).toEqual(["61", "70"]);
    const owner = screen.getByTestId("conflict-owner");
    expect(within(owner).getAllByRole("cell").map((c) => c.textContent)).toEqual(["ben@example.com", "ana@example.com"]);
    // Fields nobody else changed are not listed.
    expect(screen.queryByTestId("conflict-renewal_date")).toBeNull();
  });

  it("offers both ways forward, focusing the safe one", () => {
    const onKeepMine = vi.fn();
    const onTakeTheirs = vi.fn();
    render(<ConflictDialog fields={fields} base={base} mine={base} theirs={theirs} onKeepMine={onKeepMine} onTakeTheirs={onTakeTheirs} />);
    expect(document.activeElement).toBe(screen.getByTestId("take-theirs"));
    fireEvent.click(screen.getByTestId("keep-mine"));
    expect(onKeepMine).toHaveBeenCalledTimes(1);
    fireEvent.click(screen.getByTestId("take-theirs"));
    expect(onTakeTheirs).toHaveBeenCalledTimes(1);
  });
});
