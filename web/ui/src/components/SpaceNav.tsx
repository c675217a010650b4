// The pages of one space beyond its forms: dashboards, the workflows it runs and what they did.
// One list, so the spaces home and every space-level page show the same way around.
import { useTranslation } from "react-i18next";
import { Link, useLocation } from "../router";
import { useAttention } from "../hooks/useAttention";
import { badgeText } from "../watching";

/** The space-level pages, in the order they are shown; `path` follows the space's name. */
export const SPACE_PAGES = [
  { key: "workflows", path: "workflows" },
  { key: "runs", path: "runs" },
  { key: "timers", path: "timers" },
  { key: "upcoming", path: "upcoming" },
  { key: "deliveries", path: "deliveries" },
  { key: "integrations", path: "integrations" },
] as const;

export type SpacePage = (typeof SPACE_PAGES)[number]["key"];

/** The URL of one of a space's pages. */
export function spacePageHref(space: string, page: SpacePage): string {
  return `/space/${encodeURIComponent(space)}/${page}`;
}

/** Links to a space's dashboards and pages; the current one is marked for assistive tech. */
export function SpaceNav({ space }: { space: string }) {
  const { t } = useTranslation();
  const { path } = useLocation();
  const dashboards = `/d/${encodeURIComponent(space)}`;
  const attention = useAttention(space);
  return (
    <nav className="space-nav" aria-label={t("spaceNav.label", { space })} data-testid={`space-nav-${space}`}>
      <Link href={dashboards} aria-current={path.startsWith(dashboards) ? "page" : undefined} data-testid={`dashboards-${space}`}>
        {t("nav.dashboards")}
      </Link>
      {SPACE_PAGES.map(({ key }) => {
        const href = spacePageHref(space, key);
        const badge = badgeText(attention[key as keyof typeof attention] ?? 0);
        return (
          <Link key={key} href={href} aria-current={path.startsWith(href) ? "page" : undefined} data-testid={`space-${key}-${space}`}>
            {t(`spaceNav.${key}`)}
            {badge && (
              <span className="nav-badge" title={t(`spaceNav.attention.${key}`)} data-testid={`badge-${key}`}>
                {badge}
                <span className="visually-hidden"> {t(`spaceNav.attention.${key}`)}</span>
              </span>
            )}
          </Link>
        );
      })}
    </nav>
  );
}
