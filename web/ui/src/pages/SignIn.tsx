// Sign-in: email and password (a new session each time), the server's one-time link (which
// lands on `/` signed in), or an API token pasted here, which opens the same kind of session.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, Problem } from "../api/client";
import type { Me } from "../App";

export function SignIn({ linkInvalid, onSignedIn }: { linkInvalid: boolean; onSignedIn: (me: Me) => void }) {
  const { t } = useTranslation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const signIn = async (event: FormEvent, path: string, body: Record<string, string>) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { body: me } = await api<Me>(path, { method: "POST", body });
      onSignedIn(me);
    } catch (err) {
      const detail = err instanceof Problem ? err.errors[0]?.message ?? err.detail : String(err);
      setError(t("signIn.failed", { detail }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="signin">
      <h1>{t("signIn.title")}</h1>
      <p className="muted">{t("signIn.intro")}</p>
      {linkInvalid && (
        <p className="notice warn" role="status" data-testid="link-invalid">
          {t("signIn.linkInvalid")}
        </p>
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <form onSubmit={(e) => void signIn(e, "/api/v1/auth/login", { email: email.trim(), password })}>
        <label htmlFor="email">{t("signIn.email")}</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          data-testid="email"
        />
        <label htmlFor="password">{t("signIn.password")}</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="password"
        />
        <button
          type="submit"
          className="primary"
          disabled={busy || email.trim() === "" || password === ""}
          data-testid="sign-in-password"
        >
          {t("signIn.submit")}
        </button>
      </form>
      <form onSubmit={(e) => void signIn(e, "/api/v1/auth/session", { token: token.trim() })}>
        <label htmlFor="token">{t("signIn.token")}</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby="token-help"
          data-testid="token"
        />
        <small id="token-help" className="muted">
          {t("signIn.tokenHelp")}
        </small>
        <button type="submit" disabled={busy || token.trim() === ""} data-testid="sign-in">
          {t("signIn.submitToken")}
        </button>
      </form>
    </section>
  );
}
