// A record on a page of its own (`/s/{space}/{form}/r/{id}`): the link a drawer or a reference opens.
import { useTranslation } from "react-i18next";
import { getForm } from "../api/tend";
import { ProblemNotice } from "../components/ProblemNotice";
import { RecordView } from "../components/RecordView";
import { useLoad } from "../hooks/useApi";
import { Link } from "../router";

export default function RecordPage({ space, form, id }: { space: string; form: string; id: string }) {
  const { t } = useTranslation();
  const stored = useLoad((signal) => getForm(space, form, signal), [space, form]);
  if (stored.problem) return <ProblemNotice problem={stored.problem} onRetry={stored.reload} />;
  if (!stored.data) return <div className="skeleton" aria-busy="true" />;
  const grid = `/s/${encodeURIComponent(space)}/${encodeURIComponent(form)}`;
  return (
    <section className="record-page">
      <nav className="breadcrumb" aria-label={t("nav.spaces")}>
        <Link href="/">{t("nav.spaces")}</Link> / <Link href={grid}>{stored.data.definition.title ?? form}</Link>
        <span className="record-links">
          <Link href={`/space/${encodeURIComponent(space)}/runs?record=${encodeURIComponent(id)}`} data-testid="record-runs">
            {t("runs.ofRecord")}
          </Link>{" "}
          ·{" "}
          <Link href={`/space/${encodeURIComponent(space)}/timers?record=${encodeURIComponent(id)}`} data-testid="record-timers">
            {t("timers.ofRecord")}
          </Link>
        </span>
      </nav>
      <RecordView space={space} stored={stored.data} id={id} />
    </section>
  );
}
