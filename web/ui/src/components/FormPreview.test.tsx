import { describe, expect, it, vi } from "vitest";
import { render, screen, within } from "@testing-library/react";
import { FormPreview } from "./RecordView";
import type { FormDefinition } from "../schema";

describe("the form preview", () => {
  it("groups fields under their sections, with the designer's widgets and read-only computed fields", () => {
    const definition: FormDefinition = {
      schema: {
        type: "object",
        properties: {
          name: { type: "string", title: "Name" },
          arr: { type: "number", title: "ARR" },
          usage: { type: "number", title: "Usage" },
          phone: { type: "string", title: "Phone" },
          health: { type: "integer", title: "Health" },
        },
      },
      ui: {
        order: ["name", "phone", "arr", "usage", "health"],
        widgets: { arr: "currency", usage: "percent", phone: "phone" },
        sections: [{ title: "Money", fields: ["arr", "usage", "health"] }],
      },
      computed: { health: "1" },
    };
    const onChange = vi.fn();
    render(<FormPreview space="cs" definition={definition} forms={[]} data={{ health: 1 }} errors={[{ path: "/arr", message: "too low" }]} onChange={onChange} />);
    const money = screen.getByRole("region", { name: "Money" });
    expect(within(money).getByLabelText("ARR")).toHaveProperty("type", "number");
    expect(within(money).getByText("%")).toBeTruthy();
    expect(within(money).getByLabelText("Health")).toHaveProperty("readOnly", true);
    expect(within(money).getByText("too low")).toBeTruthy();
    expect(within(money).queryByLabelText("Name")).toBeNull();
    expect(screen.getByLabelText("Phone")).toHaveProperty("type", "tel");
  });
});
