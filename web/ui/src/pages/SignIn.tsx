// Sign-in until people exist: the server's one-time link (which lands on `/` signed in), or
// an API token pasted here, which opens the same kind of session.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, Problem } from "../api/client";
import type { Me } from "../App";

export function SignIn({ linkInvalid, onSignedIn }: { linkInvalid: boolean; onSignedIn: (me: Me) => void }) {
  const { t } = useTranslation();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { body } = await api<Me>("/api/v1/auth/session", { method: "POST", body: { token: token.trim() } });
      onSignedIn(body);
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
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="token">{t("signIn.token")}</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby="token-help"
          aria-invalid={error ? true : undefined}
          data-testid="token"
        />
        <small id="token-help" className="muted">
          {t("signIn.tokenHelp")}
        </small>
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || token.trim() === ""} data-testid="sign-in">
          {t("signIn.submit")}
        </button>
      </form>
    </section>
  );
}
