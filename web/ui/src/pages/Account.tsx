// The signed-in user's own page: name and time zone (notifications to them are written in
// it), the password (the current one is asked for once one is set), and the sessions open in
// their name, each of which they can end.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, Problem } from "../api/client";
import type { Me } from "../App";
import { ProblemNotice } from "../components/ProblemNotice";
import { formatInstant } from "../format";
import { useLoad } from "../hooks/useApi";

interface UserInfo {
  id: string;
  email: string;
  name: string;
  time_zone: string;
  locale: string;
  has_password: boolean;
}

interface SessionInfo {
  id: string;
  created_at: string;
  expires_at: string;
  from?: string | null;
  current: boolean;
}

/** The message a refused change shows at `field` (its pointer is `/field`), if any. */
function errorAt(problem: Problem | null, field: string): string | undefined {
  return problem?.errors.find((e) => e.path === `/${field}`)?.message;
}

/** A refusal's message that names no field of the form. */
function generalError(problem: Problem | null, fields: string[]): string | undefined {
  if (!problem) return undefined;
  const elsewhere = problem.errors.filter((e) => !fields.some((f) => e.path === `/${f}`));
  if (problem.errors.length > 0 && elsewhere.length === 0) return undefined;
  return elsewhere[0]?.message ?? problem.detail;
}

export default function AccountPage({ me }: { me: Me }) {
  const { t } = useTranslation();
  if (!me.user) return <p className="empty-state">{t("account.noUser")}</p>;
  return (
    <section className="account" data-testid="account-page">
      <h1>{t("account.title")}</h1>
      <p className="muted">{me.user.email}</p>
      <Profile id={me.user.id} />
      <Sessions />
    </section>
  );
}

function Profile({ id }: { id: string }) {
  const user = useLoad((signal) => api<UserInfo>(`/api/v1/users/${encodeURIComponent(id)}`, { signal }).then((r) => r.body), [id]);
  if (user.problem) return <ProblemNotice problem={user.problem} onRetry={user.reload} />;
  if (!user.data) return <div className="skeleton" aria-busy="true" />;
  return (
    <>
      <Details user={user.data} />
      <Password user={user.data} onChanged={user.reload} />
    </>
  );
}

function Details({ user }: { user: UserInfo }) {
  const { t } = useTranslation();
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState(false);
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [user.time_zone];
  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setSaved(false);
    setProblem(null);
    try {
      const body = { name: String(form.get("name") ?? "").trim(), time_zone: String(form.get("time_zone") ?? "") };
      await api(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: "PATCH", body, contentType: "application/merge-patch+json" });
      setSaved(true);
    } catch (err) {
      if (err instanceof Problem) setProblem(err);
      else throw err;
    }
  };
  return (
    <form className="card account-form" onSubmit={(e) => void save(e)} aria-labelledby="account-details">
      <h2 id="account-details">{t("account.details")}</h2>
      <label htmlFor="account-name">{t("account.name")}</label>
      <input id="account-name" name="name" defaultValue={user.name} required data-testid="account-name" />
      {errorAt(problem, "name") && <div className="field-error" role="alert">{errorAt(problem, "name")}</div>}
      <label htmlFor="account-zone">{t("account.timeZone")}</label>
      <select id="account-zone" name="time_zone" defaultValue={user.time_zone} data-testid="account-zone">
        {!zones.includes(user.time_zone) && <option value={user.time_zone}>{user.time_zone}</option>}
        {zones.map((zone) => (
          <option key={zone} value={zone}>
            {zone}
          </option>
        ))}
      </select>
      <small className="muted">{t("account.timeZoneHelp")}</small>
      {errorAt(problem, "time_zone") && <div className="field-error" role="alert">{errorAt(problem, "time_zone")}</div>}
      {generalError(problem, ["name", "time_zone"]) && <p className="field-error" role="alert">{generalError(problem, ["name", "time_zone"])}</p>}
      <div className="actions">
        <button type="submit" data-testid="account-save">
          {t("account.save")}
        </button>
        {saved && (
          <span className="muted" role="status">
            {t("account.saved")}
          </span>
        )}
      </div>
    </form>
  );
}

function Password({ user, onChanged }: { user: UserInfo; onChanged: () => void }) {
  const { t } = useTranslation();
  const [problem, setProblem] = useState<Problem | null>(null);
  const [mismatch, setMismatch] = useState(false);
  const [changed, setChanged] = useState(false);
  const change = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const element = event.currentTarget;
    const form = new FormData(element);
    const password = String(form.get("password") ?? "");
    setChanged(false);
    setProblem(null);
    setMismatch(password !== String(form.get("confirm") ?? ""));
    if (password !== String(form.get("confirm") ?? "")) return;
    const body: Record<string, string> = { password };
    if (user.has_password) body.old_password = String(form.get("old_password") ?? "");
    try {
      await api(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: "PATCH", body, contentType: "application/merge-patch+json" });
      element.reset();
      setChanged(true);
      onChanged();
    } catch (err) {
      if (err instanceof Problem) setProblem(err);
      else throw err;
    }
  };
  return (
    <form className="card account-form" onSubmit={(e) => void change(e)} aria-labelledby="account-password">
      <h2 id="account-password">{user.has_password ? t("account.changePassword") : t("account.setPassword")}</h2>
      {user.has_password && (
        <>
          <label htmlFor="old-password">{t("account.oldPassword")}</label>
          <input id="old-password" name="old_password" type="password" autoComplete="current-password" required data-testid="account-old-password" />
          {errorAt(problem, "old_password") && <div className="field-error" role="alert">{errorAt(problem, "old_password")}</div>}
        </>
      )}
      <label htmlFor="new-password">{t("account.newPassword")}</label>
      <input id="new-password" name="password" type="password" autoComplete="new-password" required minLength={12} data-testid="account-new-password" />
      <small className="muted">{t("account.passwordHelp")}</small>
      {errorAt(problem, "password") && <div className="field-error" role="alert">{errorAt(problem, "password")}</div>}
      <label htmlFor="confirm-password">{t("account.confirmPassword")}</label>
      <input id="confirm-password" name="confirm" type="password" autoComplete="new-password" required data-testid="account-confirm-password" />
      {mismatch && <div className="field-error" role="alert">{t("account.mismatch")}</div>}
      {generalError(problem, ["old_password", "password"]) && (
        <p className="field-error" role="alert">
          {generalError(problem, ["old_password", "password"])}
        </p>
      )}
      <div className="actions">
        <button type="submit" data-testid="account-change-password">
          {user.has_password ? t("account.changePassword") : t("account.setPassword")}
        </button>
        {changed && (
          <span className="muted" role="status" data-testid="account-password-changed">
            {t("account.passwordChanged")}
          </span>
        )}
      </div>
    </form>
  );
}

function Sessions() {
  const { t, i18n } = useTranslation();
  const sessions = useLoad((signal) => api<{ items: SessionInfo[] }>("/api/v1/auth/sessions", { signal }).then((r) => r.body.items), []);
  const [problem, setProblem] = useState<Problem | null>(null);
  const end = async (id: string) => {
    setProblem(null);
    try {
      await api(`/api/v1/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
      sessions.reload();
    } catch (err) {
      if (err instanceof Problem) setProblem(err);
      else throw err;
    }
  };
  return (
    <section className="card" aria-labelledby="account-sessions">
      <h2 id="account-sessions">{t("account.sessions")}</h2>
      {problem && <ProblemNotice problem={problem} />}
      {sessions.problem && <ProblemNotice problem={sessions.problem} onRetry={sessions.reload} />}
      {sessions.data && sessions.data.length === 0 && <p className="muted">{t("account.noSessions")}</p>}
      {sessions.data && sessions.data.length > 0 && (
        <table className="sessions-table">
          <thead>
            <tr>
              <th scope="col">{t("account.signedIn")}</th>
              <th scope="col">{t("account.from")}</th>
              <th scope="col">{t("account.expires")}</th>
              <th scope="col">
                <span className="visually-hidden">{t("account.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.data.map((s) => (
              <tr key={s.id} data-testid={`session-${s.id}`}>
                <td>
                  {formatInstant(s.created_at, i18n.language)}
                  {s.current && <span className="badge">{t("account.thisSession")}</span>}
                </td>
                <td>{s.from ?? "—"}</td>
                <td>{formatInstant(s.expires_at, i18n.language)}</td>
                <td>
                  {!s.current && (
                    <button type="button" className="link-button" onClick={() => void end(s.id)}>
                      {t("account.end")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
