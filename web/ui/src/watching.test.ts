import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import type { Run, WorkflowVersion } from "./api/watching";
import { badgeText, effectLinks, excerpt, sampleBody, scriptPlace, scriptSource, senderCommand, shellQuote } from "./watching";
import { nextPerWorkflow } from "./pages/Timers";
import { formatInstantIn, formatMicros } from "./format";

const run = (over: Partial<Run> = {}): Run => ({
  id: "r1",
  workflow: "triage",
  workflow_version: 2,
  event: 7,
  record: "0190f6b0-0000-7000-8000-0000000000aa",
  when: true,
  status: "succeeded",
  effects: [],
  output: [],
  started_at: "2027-03-01T09:00:00Z",
  duration_us: 1200,
  ...over,
});

describe("where a run's error points", () => {
  it("reads the action, the script's part, the line and the column", () => {
    expect(scriptPlace("workflow cs/triage, action 1 script: line 7, column 13: no triage for Boom")).toEqual({ action: 1, part: "script", line: 7, column: 13 });
    expect(scriptPlace("workflow cs/w, when: line 2: `when` gave 3")).toEqual({ action: null, part: "when", line: 2, column: undefined });
    expect(scriptPlace("workflow cs/w, action 0 set `health`: line 1, column 4: unknown variable `x`")?.part).toBe("set `health`");
    expect(scriptPlace("cascade stopped: bump → bump")).toBeNull();
    expect(scriptPlace(undefined)).toBeNull();
  });

  it("finds the source in the version that ran, and marks the line", () => {
    const workflow: WorkflowVersion = {
      name: "triage",
      version: 2,
      definition: { when: "record.health < 50", actions: [{ set: { health: "record.health + 1" } }, { script: "let a = 1;\nlet b = 2;\nthrow \"no\";\n" }] },
    };
    expect(scriptSource(workflow, { action: 1, part: "script", line: 3 })).toContain('throw "no"');
    expect(scriptSource(workflow, { action: null, part: "when", line: 1 })).toBe("record.health < 50");
    expect(scriptSource(workflow, { action: 0, part: "set `health`", line: 1 })).toBe("record.health + 1");
    expect(scriptSource(workflow, { action: 5, part: "script", line: 1 })).toBeNull();
    expect(excerpt("a\nb\nc\nd\ne\nf\ng\nh\n", 5, 2)).toEqual([
      { number: 3, text: "c", at: false },
      { number: 4, text: "d", at: false },
      { number: 5, text: "e", at: true },
      { number: 6, text: "f", at: false },
      { number: 7, text: "g", at: false },
    ]);
  });
});

describe("what a run's effects link to", () => {
  it("links changes to the triggering record, creations to the new one, notifications to the delivery", () => {
    const r = run();
    expect(effectLinks("cs", r, "account", { set: { health: 3 } })).toEqual([{ kind: "record", href: `/s/cs/account/r/${r.record}`, label: r.record }]);
    expect(effectLinks("cs", r, "account", { create: { form: "task", id: "t1" } })).toEqual([{ kind: "record", href: "/s/cs/task/r/t1", label: "t1" }]);
    expect(effectLinks("cs", r, "account", { notify: { target: { webhook: "x" }, delivery: "d1" } })).toEqual([{ kind: "delivery", href: "/space/cs/deliveries/d1", label: "d1" }]);
    expect(effectLinks("cs", run({ record: "00000000-0000-0000-0000-000000000000" }), "account", { set: {} })).toEqual([]);
    expect(effectLinks("cs", r, undefined, { transition: { to: "won" } })).toEqual([]);
    expect(effectLinks("cs", r, "account", { script: { effect: "update", data: {} } })[0].href).toBe(`/s/cs/account/r/${r.record}`);
    expect(effectLinks("cs", r, "account", { script: { effect: "update_record", form: "task", id: "t2", data: {} } })[0].href).toBe("/s/cs/task/r/t2");
    expect(effectLinks("cs", r, "account", { script: { effect: "notify", webhook: "x", body: {} } })).toEqual([]);
  });
});

describe("small things shown", () => {
  it("caps a badge and shows nothing for none", () => {
    expect(badgeText(0)).toBe("");
    expect(badgeText(3)).toBe("3");
    expect(badgeText(100)).toBe("99+");
  });

  it("shows an instant in UTC and on a zone's wall clock", () => {
    expect(formatInstantIn("2027-03-01T09:30:00Z", "en", "UTC")).toBe("Mar 1, 2027, 9:30 AM UTC");
    expect(formatInstantIn("2027-03-01T09:30:00Z", "en", "Asia/Shanghai")).toBe("Mar 1, 2027, 5:30 PM GMT+8");
    expect(formatInstantIn("2027-03-01T09:30:07Z", "en", "UTC", true)).toBe("Mar 1, 2027, 9:30:07 AM UTC");
    expect(formatMicros(840, "en")).toBe("840 µs");
    expect(formatMicros(12_400, "en")).toBe("12 ms");
    expect(formatMicros(1_400_000, "en")).toBe("1.4 s");
  });

  it("takes the soonest timer of each workflow", () => {
    const timer = (id: string, workflow: string) => ({ id, kind: "delay" as const, workflow, offset: "1d", due: "", due_local: "", timezone: "UTC", scheduled_at: "" });
    expect(nextPerWorkflow([timer("1", "a"), timer("2", "b"), timer("3", "a")]).map((t) => t.id)).toEqual(["1", "2"]);
  });

  it("builds a sample body from a hook's schema", () => {
    expect(sampleBody(undefined)).toEqual({ event: "test" });
    expect(sampleBody({ type: "object", properties: { email: { type: "string" }, seats: { type: "integer" }, plan: { enum: ["pro", "free"] }, trial: { type: "boolean" } } })).toEqual({
      email: "text",
      seats: 0,
      plan: "pro",
      trial: false,
    });
  });

  it("quotes a shell word, single quotes included", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

/** Runs `command` with sh against a local server; what the server received. */
async function runAgainst(command: (url: string) => string, env: Record<string, string> = {}): Promise<{ headers: IncomingMessage["headers"]; body: string; exit: number }> {
  let received: { headers: IncomingMessage["headers"]; body: string } | undefined;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      received = { headers: req.headers, body };
      res.writeHead(202, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/spaces/cs/hooks/signup`;
  const exit = await new Promise<number>((resolve) => {
    execFile("sh", ["-c", command(url)], { env: { ...process.env, ...env } }, (err) => resolve(err ? 1 : 0));
  });
  server.close();
  if (!received) throw new Error("the command posted nothing");
  return { ...received, exit };
}

describe("the command a hook's sender runs", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const body = { email: "ann@example.com", note: "it's \"quoted\" $HOME" };

  it("signs the post the Standard Webhooks way (HMAC-SHA256 over id.timestamp.body)", async () => {
    const got = await runAgainst((url) => senderCommand(url, "signature", body, secret));
    expect(got.exit).toBe(0);
    expect(JSON.parse(got.body)).toEqual(body);
    const id = String(got.headers["webhook-id"]);
    const timestamp = String(got.headers["webhook-timestamp"]);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${got.body}`).digest("base64");
    expect(got.headers["webhook-signature"]).toBe(`v1,${expected}`);
    expect(got.headers["content-type"]).toBe("application/json");
  });

  it("reads the secret from TEND_HOOK_SECRET when it is not shown any more", async () => {
    const command = (url: string) => senderCommand(url, "signature", body);
    expect(command("u")).not.toContain(secret);
    const got = await runAgainst(command, { TEND_HOOK_SECRET: secret });
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const signed = createHmac("sha256", key).update(`${got.headers["webhook-id"]}.${got.headers["webhook-timestamp"]}.${got.body}`).digest("base64");
    expect(got.headers["webhook-signature"]).toBe(`v1,${signed}`);
  });

  it("sends the secret as a bearer token for a bearer hook", async () => {
    const got = await runAgainst((url) => senderCommand(url, "bearer", body, secret));
    expect(got.headers.authorization).toBe(`Bearer ${secret}`);
    expect(got.headers["webhook-signature"]).toBeUndefined();
    expect(JSON.parse(got.body)).toEqual(body);
  });
});
