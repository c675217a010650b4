import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import UpcomingPage from "./Upcoming";

const json = (body: unknown) => Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } }));

/** The API as the page reads it: the calendar, the members and the forms of space `cs`. */
function serve(items: unknown[], truncated = false) {
  const fetch = vi.fn((url: string) => {
    if (url.includes("/upcoming")) return json({ from: "2027-05-01T00:00:00Z", until: "2027-05-31T00:00:00Z", timezone: "UTC", items, truncated });
    if (url.includes("/members")) return json({ items: [{ user_id: "u-ana", name: "Ana Silva", email: "ana@example.com" }], next_cursor: null });
    return json({
      items: [
        { name: "account", version: 1, definition: { title: "Account", schema: {} } },
        { name: "onboarding", version: 1, definition: { title: "Onboarding", schema: {}, pipeline: { field: "stage", stages: [{ name: "kickoff", title: "Kickoff" }] } } },
      ],
      next_cursor: null,
    });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

const reminder = {
  at: "2027-05-21T01:00:00Z", local: "2027-05-21T09:00:00", timezone: "Asia/Shanghai", kind: "date_offset", spec: "-30d",
  workflows: ["renewal-reminders"], title: "Renewal reminders", form: "account", record: "0190f0a0-0000-7000-8000-000000000001",
  label: "Acme", person: "u-ana", overdue: false,
};
const sla = {
  at: "2027-05-04T00:00:00Z", local: "2027-05-04T00:00:00", timezone: "UTC", kind: "sla", spec: "kickoff",
  workflows: ["kickoff-late"], form: "onboarding", record: "0190f0a0-0000-7000-8000-000000000002", label: "Globex", overdue: false,
};

afterEach(() => {
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
});

describe("UpcomingPage", () => {
  it("groups what fires by day, with the record, the person and the time in the timer's zone", async () => {
    const fetch = serve([sla, reminder]);
    render(<UpcomingPage space="cs" />);
    const rows = await screen.findAllByTestId("upcoming-item");
    expect(rows).toHaveLength(2);
    expect(fetch.mock.calls.map(([url]) => String(url))).toContainEqual(expect.stringContaining("/api/v1/spaces/cs/upcoming?days=30"));
    const day = new Date("2027-05-21T01:00:00Z");
    const key = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
    const row = within(screen.getByTestId(`upcoming-day-${key}`)).getByTestId("upcoming-item");
    expect(within(row).getByText("Acme").getAttribute("href")).toBe("/s/cs/account/r/0190f0a0-0000-7000-8000-000000000001");
    expect(within(row).getByText("Reminder −30d")).toBeTruthy();
    await waitFor(() => expect(within(row).getByTestId("upcoming-person").textContent).toBe("Ana Silva"));
    // The timer's own wall clock, unless the reader is in its zone already.
    if (Intl.DateTimeFormat().resolvedOptions().timeZone !== "Asia/Shanghai") expect(within(row).getByText("09:00 Asia/Shanghai")).toBeTruthy();
    await waitFor(() => expect(within(rows[0]).getByText("SLA Kickoff")).toBeTruthy());
  });

  it("says when the answer was cut, and what an empty window means", async () => {
    serve([reminder], true);
    const { unmount } = render(<UpcomingPage space="cs" />);
    expect(await screen.findByTestId("upcoming-truncated")).toBeTruthy();
    unmount();
    serve([]);
    render(<UpcomingPage space="cs" />);
    expect((await screen.findByTestId("upcoming-empty")).textContent).toContain("next 30 days");
  });
});
