// How a space talks to other systems: outgoing webhook endpoints (where `notify` posts, signed)
// and inbound hooks (where others post events that trigger workflows). A generated secret is
// shown once, with a copy button; each hook has a ready `curl` command that signs its post
// the way the server checks it.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Problem } from "../api/client";
import { deleteEndpoint, deleteHook, hookUrl, listEndpoints, listHooks, putEndpoint, putHook, type Endpoint, type Hook, type HookAuth } from "../api/watching";
import { ProblemNotice } from "../components/ProblemNotice";
import { SpaceNav } from "../components/SpaceNav";
import { CopyButton } from "../components/Watch";
import { useLoad } from "../hooks/useApi";
import { sampleBody, senderCommand } from "../watching";

const asProblem = (err: unknown) => (err instanceof Problem ? err : new Problem(0, { detail: String(err) }));

export default function IntegrationsPage({ space }: { space: string }) {
  const { t } = useTranslation();
  return (
    <section className="watch-page integrations">
      <SpaceNav space={space} />
      <header className="page-header">
        <h1>{t("integrations.title")}</h1>
      </header>
      <Endpoints space={space} />
      <Hooks space={space} />
    </section>
  );
}

/** A secret the server generated and will never show again. */
function SecretOnce({ secret, testid }: { secret: string; testid: string }) {
  const { t } = useTranslation();
  return (
    <div className="secret-once" role="status" data-testid={testid}>
      <strong>{t("integrations.secretOnce")}</strong>
      <div className="copy-row">
        <code data-testid={`${testid}-value`}>{secret}</code>
        <CopyButton text={secret} testid={`${testid}-copy`} />
      </div>
    </div>
  );
}

/** Deletes after a second click, so one slip deletes nothing; the server's refusal (a workflow
 *  still uses it) is shown in its words. */
function DeleteButton({ remove, onDeleted, testid }: { remove: () => Promise<void>; onDeleted: () => void; testid: string }) {
  const { t } = useTranslation();
  const [armed, setArmed] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const click = async () => {
    if (!armed) {
      setArmed(true);
      return;
    }
    try {
      await remove();
      onDeleted();
    } catch (err) {
      setArmed(false);
      setProblem(asProblem(err));
    }
  };
  return (
    <>
      <span className="spacer" />
      <button type="button" className={armed ? "danger" : undefined} onClick={() => void click()} data-testid={testid}>
        {armed ? t("integrations.confirmDelete") : t("integrations.delete")}
      </button>
      {problem && <ProblemNotice problem={problem} />}
    </>
  );
}

function FieldProblem({ problem, path }: { problem?: Problem; path: string }) {
  const error = problem?.errors.find((e) => e.path === path);
  return error ? <div className="field-error">{error.message}</div> : null;
}

function Endpoints({ space }: { space: string }) {
  const { t } = useTranslation();
  const endpoints = useLoad((signal) => listEndpoints(space, signal), [space]);
  const [editing, setEditing] = useState<Endpoint | "new" | null>(null);
  const [created, setCreated] = useState<Endpoint>();
  return (
    <section className="card" data-testid="endpoints">
      <header>
        <h2>{t("integrations.endpoints")}</h2>
        <span className="muted small">{t("integrations.endpointsHelp")}</span>
        <span className="spacer" />
        <button type="button" onClick={() => setEditing("new")} data-testid="endpoint-new">
          {t("integrations.newEndpoint")}
        </button>
      </header>
      {endpoints.problem && <ProblemNotice problem={endpoints.problem} onRetry={endpoints.reload} />}
      {created?.secret && <SecretOnce secret={created.secret} testid="endpoint-secret" />}
      {editing && (
        <EndpointForm
          space={space}
          endpoint={editing === "new" ? undefined : editing}
          onDone={(stored) => {
            setEditing(null);
            if (stored) {
              setCreated(stored);
              endpoints.reload();
            }
          }}
          onDeleted={() => {
            setEditing(null);
            setCreated(undefined);
            endpoints.reload();
          }}
        />
      )}
      {endpoints.data?.length === 0 && !editing && <p className="muted">{t("integrations.noEndpoints")}</p>}
      {!!endpoints.data?.length && (
        <table className="watch-table">
          <thead>
            <tr>
              <th>{t("integrations.name")}</th>
              <th>{t("integrations.url")}</th>
              <th>{t("integrations.state")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {endpoints.data.map((endpoint) => (
              <tr key={endpoint.name} data-testid={`endpoint-${endpoint.name}`}>
                <td>
                  <strong>{endpoint.title ?? endpoint.name}</strong> {endpoint.title && <code className="muted">{endpoint.name}</code>}
                </td>
                <td>
                  <code>{endpoint.url}</code>
                </td>
                <td className="nowrap">{endpoint.enabled ? t("integrations.enabled") : <span className="muted">{t("integrations.disabled")}</span>}</td>
                <td className="nowrap">
                  <button type="button" className="link-button" onClick={() => setEditing(endpoint)} data-testid={`endpoint-edit-${endpoint.name}`}>
                    {t("integrations.edit")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function EndpointForm({ space, endpoint, onDone, onDeleted }: { space: string; endpoint?: Endpoint; onDone: (stored?: Endpoint) => void; onDeleted: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(endpoint?.name ?? "");
  const [title, setTitle] = useState(endpoint?.title ?? "");
  const [url, setUrl] = useState(endpoint?.url ?? "");
  const [enabled, setEnabled] = useState(endpoint?.enabled ?? true);
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      const definition: Record<string, unknown> = { url, enabled, headers: endpoint?.headers ?? {} };
      if (title) definition.title = title;
      onDone(await putEndpoint(space, name.trim(), definition));
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="edit-form" onSubmit={(e) => void submit(e)} data-testid="endpoint-form">
      <label>
        {t("integrations.name")}
        <input value={name} onChange={(e) => setName(e.target.value)} disabled={!!endpoint} required data-testid="endpoint-name" />
      </label>
      <label>
        {t("integrations.titleLabel")}
        <input value={title} onChange={(e) => setTitle(e.target.value)} />
      </label>
      <label className="wide">
        {t("integrations.url")}
        <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} required placeholder="https://example.com/tend" data-testid="endpoint-url" />
        <FieldProblem problem={problem} path="/url" />
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> {t("integrations.enabled")}
      </label>
      {problem && <ProblemNotice problem={problem} />}
      <div className="form-row">
        <button type="submit" className="primary" disabled={busy} data-testid="endpoint-save">
          {t("integrations.save")}
        </button>
        <button type="button" onClick={() => onDone()}>
          {t("integrations.cancel")}
        </button>
        {endpoint && <DeleteButton remove={() => deleteEndpoint(space, endpoint.name)} onDeleted={onDeleted} testid="endpoint-delete" />}
      </div>
    </form>
  );
}

function Hooks({ space }: { space: string }) {
  const { t } = useTranslation();
  const hooks = useLoad((signal) => listHooks(space, signal), [space]);
  const [editing, setEditing] = useState<Hook | "new" | null>(null);
  const [created, setCreated] = useState<Hook>();
  const [showing, setShowing] = useState<string | null>(null);
  return (
    <section className="card" data-testid="hooks">
      <header>
        <h2>{t("integrations.hooks")}</h2>
        <span className="muted small">{t("integrations.hooksHelp")}</span>
        <span className="spacer" />
        <button type="button" onClick={() => setEditing("new")} data-testid="hook-new">
          {t("integrations.newHook")}
        </button>
      </header>
      {hooks.problem && <ProblemNotice problem={hooks.problem} onRetry={hooks.reload} />}
      {created?.secret && (
        <>
          <SecretOnce secret={created.secret} testid="hook-secret" />
          <Sender space={space} hook={created} secret={created.secret} />
        </>
      )}
      {editing && (
        <HookForm
          space={space}
          hook={editing === "new" ? undefined : editing}
          onDone={(stored) => {
            setEditing(null);
            if (stored) {
              setCreated(stored);
              hooks.reload();
            }
          }}
          onDeleted={() => {
            setEditing(null);
            setCreated(undefined);
            hooks.reload();
          }}
        />
      )}
      {hooks.data?.length === 0 && !editing && <p className="muted">{t("integrations.noHooks")}</p>}
      {!!hooks.data?.length && (
        <table className="watch-table">
          <thead>
            <tr>
              <th>{t("integrations.name")}</th>
              <th>{t("integrations.auth")}</th>
              <th>{t("integrations.state")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {hooks.data.map((hook) => (
              <HookRow key={hook.name} space={space} hook={hook} showing={showing === hook.name} onShow={() => setShowing(showing === hook.name ? null : hook.name)} onEdit={() => setEditing(hook)} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function HookRow({ space, hook, showing, onShow, onEdit }: { space: string; hook: Hook; showing: boolean; onShow: () => void; onEdit: () => void }) {
  const { t } = useTranslation();
  return (
    <>
      <tr data-testid={`hook-${hook.name}`}>
        <td>
          <strong>{hook.title ?? hook.name}</strong> {hook.title && <code className="muted">{hook.name}</code>}
        </td>
        <td>{t(`integrations.authKinds.${hook.auth}`)}</td>
        <td className="nowrap">{hook.enabled ? t("integrations.enabled") : <span className="muted">{t("integrations.disabled")}</span>}</td>
        <td className="row-actions">
          <button type="button" className="link-button" onClick={onShow} aria-expanded={showing} data-testid={`hook-sender-${hook.name}`}>
            {t("integrations.senderCommand")}
          </button>
          <button type="button" className="link-button" onClick={onEdit} data-testid={`hook-edit-${hook.name}`}>
            {t("integrations.edit")}
          </button>
        </td>
      </tr>
      {showing && (
        <tr>
          <td colSpan={4}>
            <Sender space={space} hook={hook} />
          </td>
        </tr>
      )}
    </>
  );
}

/** The command that posts a sample event to a hook; with the secret in it when just made. */
function Sender({ space, hook, secret }: { space: string; hook: Hook; secret?: string }) {
  const { t } = useTranslation();
  const command = senderCommand(hookUrl(window.location.origin, space, hook.name), hook.auth, sampleBody(hook.schema), secret);
  return (
    <div className="sender" data-testid={`sender-${hook.name}`}>
      <div className="copy-row">
        <span className="muted small">{secret ? t("integrations.senderWithSecret") : t("integrations.senderWithoutSecret")}</span>
        <span className="spacer" />
        <CopyButton text={command} testid={`sender-copy-${hook.name}`} />
      </div>
      <pre className="command" data-testid={`sender-command-${hook.name}`}>
        {command}
      </pre>
    </div>
  );
}

function HookForm({ space, hook, onDone, onDeleted }: { space: string; hook?: Hook; onDone: (stored?: Hook) => void; onDeleted: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(hook?.name ?? "");
  const [title, setTitle] = useState(hook?.title ?? "");
  const [auth, setAuth] = useState<HookAuth>(hook?.auth ?? "signature");
  const [enabled, setEnabled] = useState(hook?.enabled ?? true);
  const [schema, setSchema] = useState(hook?.schema ? JSON.stringify(hook.schema, null, 2) : "");
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    const definition: Record<string, unknown> = { auth, enabled };
    if (title) definition.title = title;
    if (schema.trim()) {
      try {
        definition.schema = JSON.parse(schema);
      } catch (err) {
        setProblem(new Problem(422, { detail: t("integrations.schemaNotJson"), errors: [{ path: "/schema", message: String(err) }] }));
        return;
      }
    }
    setBusy(true);
    try {
      onDone(await putHook(space, name.trim(), definition));
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="edit-form" onSubmit={(e) => void submit(e)} data-testid="hook-form">
      <label>
        {t("integrations.name")}
        <input value={name} onChange={(e) => setName(e.target.value)} disabled={!!hook} required data-testid="hook-name" />
      </label>
      <label>
        {t("integrations.titleLabel")}
        <input value={title} onChange={(e) => setTitle(e.target.value)} />
      </label>
      <label>
        {t("integrations.auth")}
        <select value={auth} onChange={(e) => setAuth(e.target.value as HookAuth)} data-testid="hook-auth">
          <option value="signature">{t("integrations.authKinds.signature")}</option>
          <option value="bearer">{t("integrations.authKinds.bearer")}</option>
        </select>
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> {t("integrations.enabled")}
      </label>
      <label className="wide">
        {t("integrations.schema")}
        <textarea rows={4} value={schema} onChange={(e) => setSchema(e.target.value)} placeholder='{"type": "object", "properties": {"email": {"type": "string"}}}' data-testid="hook-schema" />
        <FieldProblem problem={problem} path="/schema" />
      </label>
      {problem && <ProblemNotice problem={problem} />}
      <div className="form-row">
        <button type="submit" className="primary" disabled={busy} data-testid="hook-save">
          {t("integrations.save")}
        </button>
        <button type="button" onClick={() => onDone()}>
          {t("integrations.cancel")}
        </button>
        {hook && <DeleteButton remove={() => deleteHook(space, hook.name)} onDeleted={onDeleted} testid="hook-delete" />}
      </div>
    </form>
  );
}
