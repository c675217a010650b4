import { readFileSync } from "node:fs";
import { join } from "node:path";
import { examples, packDefinitions } from "../test/packs";
import { canonical } from "../diff";
import { parseCondition, writeCondition } from "./condition";
import { describeCron, nextOccurrences } from "./cron";
import { blank, changeKind, open, parseLiteral, parseSpan, save, toCode, toRows, triggerKind, valueSource, writeValue, type WorkflowDefinition } from "./model";

/** `{"file": "scripts/x.rhai"}` replaced by the script's text, as installing a pack does. */
function inlined(value: unknown, pack: string): unknown {
  if (Array.isArray(value)) return value.map((v) => inlined(v, pack));
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === "file" && typeof entries[0][1] === "string" && entries[0][1].endsWith(".rhai"))
    return readFileSync(join(examples, pack, entries[0][1]), "utf8");
  return Object.fromEntries(entries.map(([k, v]) => [k, inlined(v, pack)]));
}

function packWorkflows(): [string, WorkflowDefinition][] {
  return packDefinitions("workflows").map(([name, raw]) => [name, inlined(raw, name.split("/")[0]) as WorkflowDefinition]);
}

describe("round trip", () => {
  const workflows = packWorkflows();
  it("reads every workflow of the three built-in packs", () => {
    const packs = new Set(workflows.map(([name]) => name.split("/")[0]));
    expect([...packs].sort()).toEqual(["customer-success", "sales-pipeline", "support-desk"]);
    expect(workflows.length).toBeGreaterThanOrEqual(24);
  });
  it.each(workflows)("%s opens in the builder and saves back equal", (_, definition) => {
    const state = open(definition);
    expect(state.actions.length).toBe(definition.actions?.length ?? 0);
    const saved = save(state);
    expect(saved).toEqual(definition);
    expect(canonical(saved)).toBe(canonical(definition));
  });
  it("reads the packs' triggers, conditions and actions into pickers, not raw JSON", () => {
    const byName = Object.fromEntries(workflows.map(([n, d]) => [n, open(d)]));
    const health = byName["customer-success/health-drop-alert.json"];
    expect(triggerKind(health.trigger)).toBe("record");
    expect(health.condition).toEqual({
      join: "all",
      rows: [
        { source: "old", field: "health", op: ">=", value: 50 },
        { source: "record", field: "health", op: "<", value: 50 },
        { source: "record", field: "status", op: "!=", value: "churned" },
      ],
    });
    expect(health.actions.map((a) => a.kind)).toEqual(["create", "set", "notify"]);
    const create = health.actions[0];
    expect(create.kind === "create" && create.mappings.find((m) => m.field === "assignee")?.value).toEqual({ mode: "field", field: "owner" });
    expect(create.kind === "create" && create.mappings.find((m) => m.field === "priority")?.value).toEqual({ mode: "typed", value: "high" });
    expect(triggerKind(byName["customer-success/renewal-reminders.json"].trigger)).toBe("date");
    expect(triggerKind(byName["customer-success/weekly-at-risk-digest.json"].trigger)).toBe("cron");
    expect(triggerKind(byName["customer-success/onboarding-stalled.json"].trigger)).toBe("sla");
    // Nothing in the packs needs the raw fallback.
    expect(Object.values(byName).flatMap((s) => s.actions).filter((a) => a.kind === "raw")).toEqual([]);
  });
});

describe("builder pieces", () => {
  it("writes condition rows as rhai and reads them back", () => {
    const condition = {
      join: "all" as const,
      rows: [
        { source: "old" as const, field: "health", op: ">=" as const, value: 60 },
        { source: "record" as const, field: "health", op: "<" as const, value: 60 },
        { source: "record" as const, field: "owner", op: "set" as const },
        { source: "record" as const, field: "stage", op: "changed" as const },
        { source: "record" as const, field: "name", op: "==" as const, value: 'say "hi"' },
      ],
    };
    const when = writeCondition(condition);
    expect(when).toBe('old.health >= 60 && record.health < 60 && record.owner != () && record.stage != old.stage && record.name == "say \\"hi\\""');
    expect(parseCondition(when)).toEqual(condition);
    expect(parseCondition("record.a == 1 || record.b == true")?.join).toBe("any");
  });
  it("keeps in code what the rows cannot say exactly", () => {
    for (const when of ["(record.arr ?? 0) > 10", "record.a == 1 && record.b == 2 || record.c == 3", "record.x == 60.0", "record.x  == 1", "days_until(record.d) < 3"])
      expect(parseCondition(when)).toBeNull();
    const state = open({ trigger: { form: "a", on: ["updated"] }, when: "(record.arr ?? 0) > 10", actions: [] });
    expect(state.condition).toBeNull();
    expect(save(state).when).toBe("(record.arr ?? 0) > 10");
    expect(toRows(state)).toBeNull();
    const rows = open({ trigger: { form: "a", on: ["updated"] }, when: "record.a == 1", actions: [] });
    const code = toCode(rows);
    expect(code.condition).toBeNull();
    expect(save(code).when).toBe("record.a == 1");
    expect(toRows(code)?.condition?.rows.length).toBe(1);
  });
  it("reads values as a field, a typed literal or an expression", () => {
    expect(valueSource("record.owner")).toEqual({ mode: "field", field: "owner" });
    expect(valueSource('"open"')).toEqual({ mode: "typed", value: "open" });
    expect(valueSource("42")).toEqual({ mode: "typed", value: 42 });
    expect(valueSource("today() + days(2)")).toEqual({ mode: "expr", expr: "today() + days(2)" });
    expect(valueSource("`Renewal of ${record.name}`")).toEqual({ mode: "template", text: "Renewal of ${record.name}" });
    expect(valueSource("`a` + `b`")).toEqual({ mode: "expr", expr: "`a` + `b`" });
    expect(writeValue({ mode: "template", text: "say `hi` to ${record.name}" })).toBe("`say 'hi' to ${record.name}`");
    expect(writeValue({ mode: "typed", value: "line\nnext" })).toBe('"line\\nnext"');
    expect(parseLiteral("1e3")).toBeUndefined();
  });
  it("reads offsets and delays in parts, keeping what does not write back", () => {
    expect(parseSpan("-30d")).toEqual({ amount: 30, unit: "d", before: true });
    expect(parseSpan("2w")).toEqual({ amount: 2, unit: "w", before: false });
    expect(parseSpan("+1d")).toBeNull();
    expect(parseSpan("-0d")).toEqual({ amount: 0, unit: "d", before: true });
    expect(parseSpan("-030d")).toBeNull();
  });
  it("changes a trigger's kind keeping what both kinds share", () => {
    const date = changeKind({ form: "account", on: ["updated"], fields: ["health"] }, "date");
    expect(date).toEqual({ form: "account", at: "", offsets: ["-30d"], time: "09:00" });
    expect(changeKind(date, "record")).toEqual({ form: "account", on: ["updated"] });
    expect(changeKind({ cron: "0 9 * * *" }, "sla")).toEqual({ on: ["sla_breached"] });
    expect(save(blank("account"))).toEqual({ trigger: { form: "account", on: ["updated"] }, actions: [] });
  });
  it("reads a cron schedule in words and lists its next occurrences in its zone", () => {
    expect(describeCron("0 8 * * MON", "en")).toBe("At 08:00, only on Monday");
    expect(describeCron("0 8 * * MON", "zh-CN")).toContain("星期一");
    expect(describeCron("not cron", "en")).toBeNull();
    const next = nextOccurrences("0 8 * * MON", "Europe/Berlin", 5, new Date("2026-12-01T00:00:00Z"));
    expect(next?.map((d) => d.toISOString())).toEqual([
      "2026-12-07T07:00:00.000Z",
      "2026-12-14T07:00:00.000Z",
      "2026-12-21T07:00:00.000Z",
      "2026-12-28T07:00:00.000Z",
      "2027-01-04T07:00:00.000Z",
    ]);
    expect(nextOccurrences("0 9 * * *", "Asia/Shanghai", 1, new Date("2026-12-01T00:00:00Z"))?.[0].toISOString()).toBe("2026-12-01T01:00:00.000Z");
  });
});
