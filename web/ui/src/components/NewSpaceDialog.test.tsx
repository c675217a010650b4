import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { freeName, NewSpaceDialog } from "./NewSpaceDialog";

const answer = (status: number, body: unknown) => Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/problem+json" } }));

afterEach(() => vi.unstubAllGlobals());

describe("freeName", () => {
  it("numbers a taken name", () => {
    expect(freeName("support-desk", [])).toBe("support-desk");
    expect(freeName("support-desk", ["support-desk", "support-desk-2"])).toBe("support-desk-3");
  });
});

describe("NewSpaceDialog", () => {
  it("installs a template with its sample data by default", async () => {
    const fetch = vi.fn(() => answer(201, { name: "support", title: "Support desk" }));
    vi.stubGlobal("fetch", fetch);
    const created = vi.fn();
    render(<NewSpaceDialog source={{ template: "support-desk", title: "Support desk", sampleRecords: 8 }} taken={[]} onClose={() => {}} onCreated={created} />);
    fireEvent.change(screen.getByTestId("new-space-name"), { target: { value: "support" } });
    fireEvent.click(screen.getByTestId("new-space-submit"));
    await waitFor(() => expect(created).toHaveBeenCalled());
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(JSON.parse(String(init.body))).toEqual({ name: "support", title: "Support desk", template: "support-desk", sample_data: true });
  });

  it("puts the server's refusal of the name under the name", async () => {
    vi.stubGlobal("fetch", vi.fn(() => answer(409, { status: 409, detail: "space `support` already exists" })));
    render(<NewSpaceDialog source={{ fromSpace: "support", title: "Support" }} taken={[]} onClose={() => {}} onCreated={() => {}} />);
    expect((screen.getByTestId("new-space-name") as HTMLInputElement).value).toBe("support-copy");
    fireEvent.click(screen.getByTestId("new-space-submit"));
    await waitFor(() => expect(screen.getByText("space `support` already exists")).toBeTruthy());
    expect(screen.getByTestId("new-space-name").getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByTestId("problem")).toBeNull();
  });

  it("refuses a name already taken before asking", () => {
    render(<NewSpaceDialog source={{ fromSpace: "support", title: "Support" }} taken={["support-copy", "emea"]} onClose={() => {}} onCreated={() => {}} />);
    fireEvent.change(screen.getByTestId("new-space-name"), { target: { value: "emea" } });
    expect((screen.getByTestId("new-space-submit") as HTMLButtonElement).disabled).toBe(true);
  });
});
