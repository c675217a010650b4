import { useState } from "react";
import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { FieldsTab } from "./FieldsTab";
import { PipelineTab } from "./PipelineTab";
import { apply, blank, fieldNames, save, type DesignModel } from "./model";

type Change = (model: DesignModel) => DesignModel;

/** Renders a tab over a model held in state, and exposes the model for assertions. */
function harness(initial: DesignModel, tab: "fields" | "pipeline") {
  const seen: { model: DesignModel } = { model: initial };
  function Host() {
    const [model, setModel] = useState(initial);
    const [selected, setSelected] = useState<string | null>(null);
    seen.model = model;
    const change = (...changes: Change[]) => setModel((m) => apply(m, ...changes));
    return tab === "fields" ? (
      <FieldsTab model={model} change={change} selected={selected} select={setSelected} forms={[]} evaluation={null} fieldErrors={{}} />
    ) : (
      <PipelineTab model={model} change={change} errors={[]} />
    );
  }
  render(<Host />);
  return seen;
}

describe("the fields tab", () => {
  it("adds from the palette, edits properties, reorders and removes", () => {
    const seen = harness(blank(), "fields");
    fireEvent.click(screen.getByTestId("palette-text"));
    fireEvent.click(screen.getByTestId("palette-select"));
    expect(fieldNames(seen.model)).toEqual(["field_1", "field_2"]);
    // The new field is selected: its options, its fast filter.
    fireEvent.click(screen.getByTestId("add-option"));
    fireEvent.change(screen.getByTestId("option-1"), { target: { value: "gold" } });
    fireEvent.click(screen.getByTestId("prop-index"));
    expect(save(seen.model).schema.properties?.field_2).toEqual({ type: "string", enum: ["option_1", "gold"] });
    expect(save(seen.model).indexes).toEqual(["field_2"]);
    // Renaming applies on blur.
    fireEvent.change(screen.getByTestId("prop-name"), { target: { value: "tier" } });
    fireEvent.blur(screen.getByTestId("prop-name"));
    expect(fieldNames(seen.model)).toEqual(["field_1", "tier"]);
    expect(save(seen.model).ui?.colors).toEqual({ tier: { gold: "#1a9c5b" } });
    fireEvent.click(screen.getByTestId("move-up-tier"));
    expect(fieldNames(seen.model)).toEqual(["tier", "field_1"]);
    fireEvent.click(screen.getByTestId("remove-field_1"));
    expect(fieldNames(seen.model)).toEqual(["tier"]);
  });
});

describe("the pipeline tab", () => {
  it("creates a stage field, adds stages and edits the moves grid", () => {
    const seen = harness(blank(), "pipeline");
    fireEvent.click(screen.getByTestId("create-pipeline"));
    fireEvent.change(screen.getByTestId("stage-title-0"), { target: { value: "New" } });
    fireEvent.click(screen.getByTestId("add-stage"));
    fireEvent.change(screen.getByTestId("stage-title-1"), { target: { value: "Won" } });
    expect(seen.model.pipeline?.stages.map((s) => s.name)).toEqual(["new", "won"]);
    expect(seen.model.properties.stage.enum).toEqual(["new", "won"]);
    const move = screen.getByTestId("move-won-new") as HTMLInputElement;
    expect(move.checked).toBe(true);
    fireEvent.click(move);
    expect(seen.model.pipeline?.transitions).toEqual({ new: ["won"] });
    expect((screen.getByTestId("move-won-new") as HTMLInputElement).checked).toBe(false);
  });
});
