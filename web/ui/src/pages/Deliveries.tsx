// The outbox: a space's webhook calls and emails, newest first, by status and workflow; one
// delivery with every attempt (status, latency, the start of the answer) and a redeliver.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Problem } from "../api/client";
import { getDelivery, getSpace, listDeliveries, listWorkflows, redeliver, type Delivery } from "../api/watching";
import { ProblemNotice } from "../components/ProblemNotice";
import { SpaceNav } from "../components/SpaceNav";
import { attentionChanged, ChoiceFilter, MoreButton, StatusChip, useStatusChoices, When, workflowChoices } from "../components/Watch";
import { formatNumber } from "../format";
import { useLoad } from "../hooks/useApi";
import { usePaged } from "../hooks/usePaged";
import { Link, useLocation } from "../router";
import { deliveryHref, runHref } from "../watching";

/** Where a delivery goes, as one line. */
function targetText(target: Delivery["target"]): string {
  if (target.webhook) return target.webhook;
  if (target.url) return target.url;
  const to = target.email?.to;
  return Array.isArray(to) ? to.join(", ") : String(to ?? "");
}

function targetKind(target: Delivery["target"]): string {
  return target.webhook ? "webhook" : target.url ? "url" : "email";
}

export default function DeliveriesPage({ space, id }: { space: string; id?: string }) {
  return (
    <section className="watch-page">
      <SpaceNav space={space} />
      {id ? <DeliveryDetail key={id} space={space} id={id} /> : <DeliveryList space={space} />}
    </section>
  );
}

function DeliveryList({ space }: { space: string }) {
  const { t } = useTranslation();
  const { query } = useLocation();
  const status = query.get("status") ?? "";
  const workflow = query.get("workflow") ?? "";
  const info = useLoad((signal) => Promise.all([getSpace(space, signal), listWorkflows(space, signal)]), [space]);
  const paged = usePaged((cursor, signal) => listDeliveries(space, { status, workflow, limit: 50, cursor }, signal), `${space}/${status}/${workflow}`);
  const items = paged.items;
  const statuses = useStatusChoices(["pending", "delivering", "delivered", "dead"]);
  const zone = info.data?.[0].timezone;
  return (
    <>
      <header className="page-header">
        <h1>{t("deliveries.title")}</h1>
      </header>
      <div className="filters watch-filters">
        <ChoiceFilter label={t("runs.statusLabel")} param="status" value={status} choices={statuses} testid="deliveries-status" />
        <ChoiceFilter label={t("runs.workflow")} param="workflow" value={workflow} choices={workflowChoices(info.data?.[1])} testid="deliveries-workflow" />
      </div>
      {paged.problem && <ProblemNotice problem={paged.problem} onRetry={paged.reload} />}
      {paged.loading && paged.items.length === 0 && <div className="skeleton" aria-busy="true" />}
      {!paged.loading && items.length === 0 && !paged.problem && <p className="empty-state">{t("deliveries.empty")}</p>}
      {items.length > 0 && (
        <div className="table-card">
          <table className="watch-table" data-testid="deliveries-table">
            <thead>
              <tr>
                <th>{t("deliveries.created")}</th>
                <th>{t("runs.workflow")}</th>
                <th>{t("deliveries.target")}</th>
                <th>{t("runs.statusLabel")}</th>
                <th className="num">{t("deliveries.attempts")}</th>
                <th>{t("deliveries.last")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((delivery) => {
                const last = delivery.attempts[delivery.attempts.length - 1];
                return (
                  <tr key={delivery.id} data-testid="delivery-row" data-id={delivery.id} data-status={delivery.status}>
                    <td>
                      <Link href={deliveryHref(space, delivery.id)} data-testid={`delivery-${delivery.id}`}>
                        <When at={delivery.created_at} zone={zone} seconds />
                      </Link>
                    </td>
                    <td>{delivery.workflow}</td>
                    <td>
                      <span className="muted small">{t(`deliveries.kind.${targetKind(delivery.target)}`)}</span> {targetText(delivery.target)}
                    </td>
                    <td>
                      <StatusChip status={delivery.status} />
                    </td>
                    <td className="num">{delivery.attempts.length}</td>
                    <td className="notes">{last && <span className={last.status && last.status < 300 ? "ok" : "error-line"}>{last.status ?? last.error}</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <MoreButton more={paged.more} loading={paged.loading} onMore={paged.loadMore} />
    </>
  );
}

function DeliveryDetail({ space, id }: { space: string; id: string }) {
  const { t, i18n } = useTranslation();
  const loaded = useLoad(async (signal) => {
    const [delivery, spaceInfo] = await Promise.all([getDelivery(space, id, signal), getSpace(space, signal)]);
    return { delivery, zone: spaceInfo.timezone };
  }, [space, id]);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [sent, setSent] = useState(false);
  if (loaded.problem) return <ProblemNotice problem={loaded.problem} onRetry={loaded.reload} />;
  if (!loaded.data) return <div className="skeleton" aria-busy="true" />;
  const { delivery, zone } = loaded.data;
  const again = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      await redeliver(space, delivery.id);
      setSent(true);
      attentionChanged();
      loaded.reload();
      // The worker attempts it at once; show how that went.
      window.setTimeout(loaded.reload, 1500);
    } catch (err) {
      setProblem(err instanceof Problem ? err : new Problem(0, { detail: String(err) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <article className="card watch-detail" data-testid="delivery-detail" data-status={delivery.status}>
      <nav className="breadcrumb">
        <Link href={`/space/${encodeURIComponent(space)}/deliveries`}>{t("deliveries.title")}</Link> / <code>{delivery.id}</code>
      </nav>
      <header>
        <h1>{t("deliveries.detailTitle", { target: targetText(delivery.target) })}</h1>
        <StatusChip status={delivery.status} />
        <span className="spacer" />
        <button type="button" className={delivery.status === "dead" ? "primary" : undefined} onClick={() => void again()} disabled={busy || delivery.status === "delivering"} data-testid="redeliver">
          {t("deliveries.redeliver")}
        </button>
      </header>
      {sent && (
        <p className="notice ok-notice" role="status" data-testid="redelivered">
          {t("deliveries.redelivered")}
        </p>
      )}
      {problem && <ProblemNotice problem={problem} />}
      <dl className="facts">
        <dt>{t("deliveries.target")}</dt>
        <dd>
          <span className="muted">{t(`deliveries.kind.${targetKind(delivery.target)}`)}</span> {targetText(delivery.target)}
        </dd>
        <dt>{t("runs.workflow")}</dt>
        <dd>
          {delivery.workflow} · <Link href={runHref(space, delivery.run)}>{t("deliveries.openRun")}</Link>
        </dd>
        <dt>{t("deliveries.created")}</dt>
        <dd>
          <When at={delivery.created_at} zone={zone} seconds />
        </dd>
        {delivery.next_attempt_at && (
          <>
            <dt>{t("deliveries.nextAttempt")}</dt>
            <dd>
              <When at={delivery.next_attempt_at} zone={zone} seconds />
            </dd>
          </>
        )}
        {delivery.delivered_at && (
          <>
            <dt>{t("deliveries.deliveredAt")}</dt>
            <dd>
              <When at={delivery.delivered_at} zone={zone} seconds />
            </dd>
          </>
        )}
        <dt>{t("deliveries.idempotency")}</dt>
        <dd>
          <code>{delivery.id}</code>
        </dd>
      </dl>
      <h3>{t("deliveries.attemptsTitle", { n: delivery.attempts.length })}</h3>
      {delivery.attempts.length === 0 ? (
        <p className="muted">{t("deliveries.noAttempts")}</p>
      ) : (
        <table className="watch-table" data-testid="attempts">
          <thead>
            <tr>
              <th>#</th>
              <th>{t("deliveries.at")}</th>
              <th>{t("deliveries.answer")}</th>
              <th className="num">{t("deliveries.latency")}</th>
              <th>{t("deliveries.answerStart")}</th>
            </tr>
          </thead>
          <tbody>
            {delivery.attempts.map((attempt, index) => (
              <tr key={index} data-testid="attempt">
                <td className="num">{index + 1}</td>
                <td>
                  <When at={attempt.at} zone={zone} seconds />
                </td>
                <td>{attempt.status ? <span className={attempt.status < 300 ? "badge status-delivered" : "badge status-dead"}>{attempt.status}</span> : <span className="muted">{t("deliveries.noAnswer")}</span>}</td>
                <td className="num">{t("deliveries.ms", { ms: formatNumber(attempt.latency_ms, i18n.language) })}</td>
                <td>
                  <code className="answer">{attempt.response ?? attempt.error ?? ""}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{t("deliveries.body")}</h3>
      <pre className="output">{JSON.stringify(delivery.body, null, 2)}</pre>
    </article>
  );
}
