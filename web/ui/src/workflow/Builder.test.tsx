import { useState } from "react";
import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import type { StoredForm } from "../schema";
import { ActionEditor } from "./ActionEditor";
import { ConditionEditor } from "./ConditionEditor";
import { IssuesContext, type IssueSet } from "./Issues";
import { TriggerEditor } from "./TriggerEditor";
import { blank, newAction, open, save, type ActionState, type BuilderState, type Trigger } from "./model";

const account: StoredForm = {
  name: "account",
  version: 1,
  definition: {
    title: "Account",
    schema: {
      type: "object",
      properties: {
        name: { type: "string" },
        health: { type: "integer" },
        owner: { type: "string" },
        renewal_date: { type: "string", format: "date" },
        tier: { type: "string", enum: ["starter", "enterprise"] },
      },
    },
  },
};
const task: StoredForm = {
  name: "task",
  version: 1,
  definition: { schema: { type: "object", required: ["title"], properties: { title: { type: "string" }, assignee: { type: "string" }, priority: { type: "string", enum: ["normal", "high"] } } } },
};

const noIssues: IssueSet = { errors: [], warnings: [] };

function triggerHarness(initial: Trigger, issues = noIssues) {
  const seen = { trigger: initial };
  function Host() {
    const [trigger, setTrigger] = useState(initial);
    seen.trigger = trigger;
    return (
      <IssuesContext.Provider value={issues}>
        <TriggerEditor trigger={trigger} onChange={setTrigger} forms={[account, task]} hooks={[]} />
      </IssuesContext.Provider>
    );
  }
  render(<Host />);
  return seen;
}

describe("the trigger editor", () => {
  it("builds a date trigger: 30 days before the renewal date at 09:00 in a fixed zone", () => {
    const seen = triggerHarness({ form: "account", on: ["updated"] });
    fireEvent.change(screen.getByTestId("trigger-kind"), { target: { value: "date" } });
    fireEvent.change(screen.getByTestId("trigger-at"), { target: { value: "renewal_date" } });
    fireEvent.change(screen.getByTestId("offset-0-amount"), { target: { value: "30" } });
    fireEvent.change(screen.getByTestId("zone-mode"), { target: { value: "fixed" } });
    fireEvent.change(screen.getByTestId("zone-name"), { target: { value: "Asia/Shanghai" } });
    expect(seen.trigger).toEqual({ form: "account", at: "renewal_date", offsets: ["-30d"], time: "09:00", timezone: "Asia/Shanghai" });
    fireEvent.change(screen.getByTestId("offset-0-direction"), { target: { value: "after" } });
    fireEvent.click(screen.getByTestId("add-offset"));
    expect(seen.trigger.offsets).toEqual(["30d", "-7d"]);
  });
  it("reads a cron schedule in words with its next five runs", () => {
    triggerHarness({ cron: "0 8 * * MON", timezone: "Europe/Berlin" });
    expect(screen.getByTestId("cron-reading").textContent).toBe("At 08:00, only on Monday, Europe/Berlin");
    expect(screen.getByTestId("cron-next").querySelectorAll("li")).toHaveLength(5);
  });
  it("reads a schedule that names no zone in the space's zone", () => {
    render(<TriggerEditor trigger={{ cron: "0 9 * * *" }} onChange={() => undefined} forms={[]} hooks={[]} spaceZone="Asia/Shanghai" />);
    expect(screen.getByTestId("cron-reading").textContent).toBe("At 09:00, Asia/Shanghai");
  });
  it("shows the server's error at the input its pointer names", () => {
    triggerHarness({ cron: "61 * * * *" }, { errors: [{ path: "/trigger/cron", message: "minute out of range" }], warnings: [] });
    expect(screen.getByTestId("error-/trigger/cron").textContent).toBe("minute out of range");
    expect(screen.getByTestId("cron-reading").textContent).not.toContain("61");
  });
});

describe("the condition editor", () => {
  it("writes rows as rhai over new and old values, and keeps code the rows cannot say", () => {
    const seen: { state: BuilderState } = { state: blank("account") };
    function Host({ initial }: { initial: BuilderState }) {
      const [state, setState] = useState(initial);
      seen.state = state;
      return <ConditionEditor state={state} onChange={setState} form={account} />;
    }
    const { unmount } = render(<Host initial={blank("account")} />);
    fireEvent.click(screen.getByTestId("add-condition"));
    fireEvent.change(screen.getByTestId("condition-source-0"), { target: { value: "old" } });
    fireEvent.change(screen.getByTestId("condition-field-0"), { target: { value: "health" } });
    fireEvent.change(screen.getByTestId("condition-op-0"), { target: { value: ">=" } });
    fireEvent.change(screen.getByTestId("condition-value-0"), { target: { value: "60" } });
    fireEvent.click(screen.getByTestId("add-condition"));
    fireEvent.change(screen.getByTestId("condition-field-1"), { target: { value: "tier" } });
    fireEvent.change(screen.getByTestId("condition-value-1"), { target: { value: "enterprise" } });
    expect(save(seen.state).when).toBe('old.health >= 60 && record.tier == "enterprise"');
    unmount();
    render(<Host initial={open({ trigger: { form: "account", on: ["updated"] }, when: "(record.health ?? 0) < 60", actions: [] })} />);
    fireEvent.click(screen.getByTestId("condition-rows"));
    expect(screen.getByTestId("condition-cannot")).toBeTruthy();
    expect(save(seen.state).when).toBe("(record.health ?? 0) < 60");
  });
});

describe("the action editor", () => {
  function actionHarness(initial: ActionState, issues = noIssues) {
    const seen = { action: initial };
    function Host() {
      const [action, setAction] = useState(initial);
      seen.action = action;
      return (
        <IssuesContext.Provider value={issues}>
          <ActionEditor index={0} action={action} onChange={setAction} context={{ forms: [account, task], form: account, endpoints: [{ name: "cs-alerts" }], members: [] }} />
        </IssuesContext.Provider>
      );
    }
    render(<Host />);
    return seen;
  }
  it("maps a new record field by field: from the record, typed in, or an expression", () => {
    const seen = actionHarness(newAction("create"));
    fireEvent.change(screen.getByTestId("create-form-0"), { target: { value: "task" } });
    fireEvent.change(screen.getByTestId("create-0-title-mode"), { target: { value: "template" } });
    fireEvent.change(screen.getByTestId("create-0-title-template"), { target: { value: "Call " } });
    fireEvent.change(screen.getByTestId("create-0-title-insert"), { target: { value: "name" } });
    fireEvent.change(screen.getByTestId("create-0-assignee-mode"), { target: { value: "field" } });
    fireEvent.change(screen.getByTestId("create-0-assignee-field"), { target: { value: "owner" } });
    fireEvent.change(screen.getByTestId("create-0-priority-mode"), { target: { value: "typed" } });
    fireEvent.change(screen.getByTestId("create-0-priority-typed"), { target: { value: "high" } });
    const saved = save({ ...blank("account"), actions: [seen.action] }).actions;
    expect(saved).toEqual([{ create: { form: "task", data: { title: "`Call ${record.name}`", assignee: "record.owner", priority: '"high"' } } }]);
  });
  it("notifies a defined endpoint or emails with a template, and shows the save's warning at the endpoint", () => {
    const warning = { errors: [], warnings: [{ path: "/actions/0/notify/webhook", message: "the space defines no webhook endpoint `nowhere` yet" }] };
    const seen = actionHarness({ kind: "notify", notify: { webhook: "nowhere" } }, warning);
    expect(screen.getByTestId("warning-/actions/0/notify/webhook").textContent).toContain("nowhere");
    fireEvent.change(screen.getByTestId("notify-webhook-0"), { target: { value: "cs-alerts" } });
    expect(seen.action).toEqual({ kind: "notify", notify: { webhook: "cs-alerts" } });
    fireEvent.change(screen.getByTestId("notify-mode-0"), { target: { value: "email" } });
    fireEvent.change(screen.getByTestId("email-subject-0"), { target: { value: "Renewal of " } });
    fireEvent.change(screen.getByTestId("email-subject-0-insert"), { target: { value: "name" } });
    expect(seen.action.kind === "notify" && seen.action.notify.email?.subject).toBe("`Renewal of ${record.name}`");
  });
});
