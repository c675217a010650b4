import { packDefinitions } from "../test/packs";
import type { FormDefinition } from "../schema";
import {
  addField,
  addSection,
  allows,
  apply,
  blank,
  fieldKind,
  fieldNames,
  move,
  open,
  optionsOf,
  removeItem,
  renameField,
  save,
  setColor,
  setComputed,
  setIndexed,
  setMove,
  setOptions,
  setPipeline,
  setRequired,
  setStages,
} from "./model";

function packForms(): [string, FormDefinition][] {
  return packDefinitions("forms") as [string, FormDefinition][];
}

describe("round trip", () => {
  const forms = packForms();
  it("reads every form of the three built-in packs", () => {
    const packs = new Set(forms.map(([name]) => name.split("/")[0]));
    expect([...packs].sort()).toEqual(["customer-success", "sales-pipeline", "support-desk"]);
    expect(forms.length).toBeGreaterThanOrEqual(13);
  });
  it.each(forms)("%s opens in the designer and saves back equal", (_, definition) => {
    const model = open(definition);
    expect(fieldNames(model).length).toBe(Object.keys(definition.schema.properties ?? {}).length);
    expect(save(model)).toEqual(definition);
  });
  it("reads kinds from schema and widgets", () => {
    const account = forms.find(([n]) => n === "customer-success/account.json")![1];
    const model = open(account);
    expect(fieldKind(model, "name")).toBe("text");
    expect(fieldKind(model, "tier")).toBe("select");
    expect(fieldKind(model, "arr")).toBe("number");
    // A person field holds a user id: a string marked `x-person`.
    expect(fieldKind(model, "owner")).toBe("person");
    expect(fieldKind(model, "renewal_date")).toBe("date");
    expect(fieldKind(model, "usage_score")).toBe("integer");
    // ui.order comes first: health is 10th on screen though last in the schema.
    expect(fieldNames(model).indexOf("health")).toBe(9);
  });
});

describe("designer operations", () => {
  it("adds fields of each kind, writing JSON Schema and ui hints", () => {
    const model = apply(
      blank("Account"),
      addField("text", "name"),
      addField("currency", "arr"),
      addField("multiselect", "tags"),
      addField("longtext", "notes"),
      addField("person", "owner"),
      addField("link", "parent"),
    );
    const definition = save(model);
    expect(definition.schema.properties).toEqual({
      name: { type: "string" },
      arr: { type: "number" },
      tags: { type: "array", items: { type: "string", enum: ["option_1"] }, uniqueItems: true },
      notes: { type: "string" },
      owner: { type: "string", "x-person": true },
      parent: { type: "string", "x-ref": "" },
    });
    expect(definition.ui).toEqual({
      order: ["name", "arr", "tags", "notes", "owner", "parent"],
      widgets: { arr: "currency", notes: "textarea" },
    });
    expect(fieldKind(model, "arr")).toBe("currency");
    expect(fieldKind(model, "owner")).toBe("person");
    // A name already taken adds nothing.
    expect(apply(model, addField("text", "name"))).toBe(model);
  });

  it("reorders, removes and renames fields with everything that names them", () => {
    let model = apply(blank(), addField("text", "a"), addField("integer", "b"), addField("select", "c"));
    model = apply(model, setRequired("b", true), setIndexed("b", true), setComputed("b", "1 + 1"), setColor("c", "option_1", "#ff0000"));
    model = apply(model, move(2, 0));
    expect(fieldNames(model)).toEqual(["c", "a", "b"]);
    model = apply(model, renameField("b", "score"));
    let definition = save(model);
    expect(definition.ui?.order).toEqual(["c", "a", "score"]);
    expect(definition.schema.required).toEqual(["score"]);
    expect(definition.indexes).toEqual(["score"]);
    expect(definition.computed).toEqual({ score: "1 + 1" });
    expect(definition.ui?.colors).toEqual({ c: { option_1: "#ff0000" } });
    model = apply(model, removeItem(2));
    definition = save(model);
    expect(Object.keys(definition.schema.properties ?? {})).toEqual(["c", "a"]);
    expect(definition.schema.required).toBeUndefined();
    expect(definition.indexes).toBeUndefined();
    expect(definition.computed).toBeUndefined();
  });

  it("edits options, carrying colours through renames", () => {
    let model = apply(blank(), addField("select", "tier"), setOptions("tier", ["starter", "growth"]), setColor("tier", "growth", "#00aa00"));
    model = apply(model, setOptions("tier", ["starter", "scale", "enterprise"], { growth: "scale" }));
    expect(optionsOf(model, "tier")).toEqual(["starter", "scale", "enterprise"]);
    expect(save(model).ui?.colors).toEqual({ tier: { scale: "#00aa00" } });
    model = apply(model, addField("multiselect", "tags"), setOptions("tags", ["a", "b"]));
    expect(optionsOf(model, "tags")).toEqual(["a", "b"]);
  });

  it("toggles the fast filter (index) keeping the index order", () => {
    const model = apply(open({ schema: { type: "object", properties: { a: {}, b: {}, c: {} } }, indexes: ["c", "a"] } as FormDefinition), setIndexed("b", true));
    expect(save(model).indexes).toEqual(["c", "a", "b"]);
    expect(save(apply(model, setIndexed("c", false))).indexes).toEqual(["a", "b"]);
  });

  it("groups fields in sections", () => {
    const model = apply(blank(), addField("text", "a"), addSection("Money"), addField("number", "b"), addField("number", "c"));
    const definition = save(model);
    expect(definition.ui?.sections).toEqual([{ title: "Money", fields: ["b", "c"] }]);
    expect(save(open(definition))).toEqual(definition);
  });

  it("builds a pipeline whose stages are the stage field's options, with checklists and a moves grid", () => {
    let model = apply(blank(), addField("select", "stage"), setOptions("stage", ["new", "live"]), setPipeline("stage"));
    expect(model.pipeline?.stages.map((s) => s.name)).toEqual(["new", "live"]);
    model = apply(
      model,
      setStages([
        { name: "new", title: "New", sla: "2d", checklist: [{ id: "call", label: "Kickoff call" }] },
        { name: "setup", title: "Setup" },
        { name: "live", title: "Live" },
      ]),
    );
    expect(optionsOf(model, "stage")).toEqual(["new", "setup", "live"]);
    // A stage with a checklist needs the checklist object property.
    expect(model.properties.checklist).toEqual({ type: "object", additionalProperties: { type: "boolean" } });
    const pipeline = () => model.pipeline!;
    expect(allows(pipeline(), "new", "live")).toBe(true);
    model = apply(model, setMove("new", "live", false));
    expect(allows(pipeline(), "new", "live")).toBe(false);
    expect(allows(pipeline(), "new", "setup")).toBe(true);
    expect(pipeline().transitions).toEqual({ new: ["setup"], setup: ["new", "live"], live: ["new", "setup"] });
    model = apply(model, setMove("new", "live", true));
    expect(pipeline().transitions?.new).toEqual(["setup", "live"]);
    // Removing a stage removes its moves.
    model = apply(model, setStages(pipeline().stages.filter((s) => s.name !== "setup")));
    expect(pipeline().transitions).toEqual({ new: ["live"], live: ["new"] });
  });
});

describe("publishing", () => {
  it("sends a merge patch of what changed at any depth, whatever the key order", async () => {
    const { deepMergePatch } = await import("./api");
    const before = { title: "A", schema: { type: "object", properties: { a: { type: "string" }, b: { type: "integer" } } }, indexes: ["a"] };
    const after = { schema: { properties: { b: { type: "integer", minimum: 0 }, a: { type: "string" } }, type: "object" }, indexes: ["a", "b"] };
    expect(deepMergePatch(before, after)).toEqual({ title: null, schema: { properties: { b: { minimum: 0 } } }, indexes: ["a", "b"] });
  });
});
