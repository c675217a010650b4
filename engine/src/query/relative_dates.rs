//! Dates relative to the day a filter is used, which the filter language itself has no word
//! for: `{today}`, `{today+90d}`, `{month}`, `{quarter-1q}`, `{quarter+1q-1d}` stand for that
//! date in quotes. Anchors: `today`, `month`, `quarter`, `year` (the first day of the current
//! month, quarter or year) and, where a date range is known (dashboards), `from` and `to` (its
//! first and last day). Each may be followed by offsets `+N` or `-N` with a unit `d` (days),
//! `w` (weeks), `m` (months), `q` (quarters) or `y` (years), applied in order; a month step
//! from the 31st lands on the month's last day.
//!
//! "Next 30 days" is `d >= {today} and d <= {today+30d}`; "this quarter" is
//! `d >= {quarter} and d < {quarter+1q}`.

use chrono::{Datelike, Duration, Months, NaiveDate};

/// The days the anchors stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateAnchors {
    /// The current day.
    pub today: NaiveDate,
    /// The first and last day of the range in use, when there is one.
    pub range: Option<(NaiveDate, NaiveDate)>,
}

impl DateAnchors {
    /// Anchors for `today`, without a range.
    pub fn today(today: NaiveDate) -> Self {
        Self { today, range: None }
    }

    fn anchor(&self, name: &str) -> Option<Result<NaiveDate, String>> {
        let first_of = |month: u32| NaiveDate::from_ymd_opt(self.today.year(), month, 1).unwrap_or(self.today);
        let in_range = |pick: fn((NaiveDate, NaiveDate)) -> NaiveDate| {
            self.range.map(pick).ok_or_else(|| format!("`{{{name}}}` is only known where a date range is (dashboards)"))
        };
        Some(match name {
            "today" => Ok(self.today),
            "month" => Ok(first_of(self.today.month())),
            "quarter" => Ok(first_of((self.today.month() - 1) / 3 * 3 + 1)),
            "year" => Ok(first_of(1)),
            "from" => in_range(|(from, _)| from),
            "to" => in_range(|(_, to)| to),
            _ => return None,
        })
    }
}

const ANCHORS: &[&str] = &["today", "month", "quarter", "year", "from", "to"];
/// Largest number of days, weeks, months, quarters or years in one offset.
const MAX_OFFSET: u32 = 36_500;

/// Replaces every date placeholder by its quoted date; an error names a malformed one. Braces
/// that don't start with an anchor's name (inside a string literal, say) are left alone.
pub fn resolve(filter: &str, anchors: &DateAnchors) -> Result<String, String> {
    let mut out = String::with_capacity(filter.len());
    let mut rest = filter;
    while let Some(start) = find_placeholder(rest) {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err(format!("`{}`: a date placeholder needs a closing brace", &rest[start..]));
        };
        let inner = &rest[start + 1..start + end];
        let date = resolve_one(inner, anchors)?;
        out.push('"');
        out.push_str(&date.to_string());
        out.push('"');
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Where the next `{anchor` starts.
fn find_placeholder(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find('{') {
        let start = from + at;
        let after = &text[start + 1..];
        if ANCHORS.iter().any(|anchor| after.starts_with(anchor)) {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

/// One placeholder's date, from its text between the braces.
fn resolve_one(inner: &str, anchors: &DateAnchors) -> Result<NaiveDate, String> {
    let malformed = || format!("`{{{inner}}}`: write {{today}}, {{today+90d}}, {{quarter-1q}} or {{month+1m-1d}}");
    let name_len = inner.find(['+', '-']).unwrap_or(inner.len());
    let mut date = anchors.anchor(&inner[..name_len]).ok_or_else(malformed)??;
    let mut offsets = &inner[name_len..];
    while !offsets.is_empty() {
        let sign = if offsets.starts_with('+') { 1 } else { -1 };
        let body = &offsets[1..];
        let digits = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
        let amount: u32 = body[..digits].parse().ok().filter(|n| *n <= MAX_OFFSET).ok_or_else(malformed)?;
        let unit = body[digits..].chars().next().ok_or_else(malformed)?;
        date = shift(date, sign, amount, unit)
            .ok_or_else(|| format!("`{{{inner}}}`: the unit is d, w, m, q or y, and the date must exist"))?;
        offsets = &body[digits + unit.len_utf8()..];
        if !offsets.is_empty() && !offsets.starts_with(['+', '-']) {
            return Err(malformed());
        }
    }
    Ok(date)
}

fn shift(date: NaiveDate, sign: i64, amount: u32, unit: char) -> Option<NaiveDate> {
    let months = |n: u32| {
        if sign > 0 {
            date.checked_add_months(Months::new(n))
        } else {
            date.checked_sub_months(Months::new(n))
        }
    };
    match unit {
        'd' => date.checked_add_signed(Duration::days(sign * i64::from(amount))),
        'w' => date.checked_add_signed(Duration::days(sign * 7 * i64::from(amount))),
        'm' => months(amount),
        'q' => months(amount.checked_mul(3)?),
        'y' => months(amount.checked_mul(12)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    #[test]
    fn anchors_and_offsets() {
        let anchors = DateAnchors::today(day("2026-12-01"));
        let resolved = resolve("d >= {today} and d <= {today+90d} or d = {today-2w}", &anchors);
        assert_eq!(resolved.as_deref(), Ok("d >= \"2026-12-01\" and d <= \"2027-03-01\" or d = \"2026-11-17\""));
        let at = |text: &str| resolve(text, &DateAnchors::today(day("2026-08-31")));
        assert_eq!(at("{month}").as_deref(), Ok("\"2026-08-01\""));
        assert_eq!(at("{quarter}").as_deref(), Ok("\"2026-07-01\""));
        assert_eq!(at("{quarter+1q-1d}").as_deref(), Ok("\"2026-09-30\""));
        assert_eq!(at("{quarter-3q}").as_deref(), Ok("\"2025-10-01\""));
        assert_eq!(at("{year+1y}").as_deref(), Ok("\"2027-01-01\""));
        assert_eq!(at("{today+1m}").as_deref(), Ok("\"2026-09-30\""), "the 31st steps to the month's last day");
        assert_eq!(at("name = \"{x}\"").as_deref(), Ok("name = \"{x}\""), "other braces stay");
    }

    #[test]
    fn range_anchors_need_a_range() {
        let mut anchors = DateAnchors::today(day("2026-12-01"));
        assert!(resolve("d >= {from}", &anchors).is_err());
        anchors.range = Some((day("2026-01-01"), day("2026-03-31")));
        assert_eq!(
            resolve("d >= {from} and d <= {to}", &anchors).as_deref(),
            Ok("d >= \"2026-01-01\" and d <= \"2026-03-31\"")
        );
        assert_eq!(resolve("d < {from-1q}", &anchors).as_deref(), Ok("d < \"2025-10-01\""));
    }

    #[test]
    fn malformed_placeholders_are_refused() {
        let anchors = DateAnchors::today(day("2026-12-01"));
        for bad in [
            "{today+x}",
            "{today",
            "{today€}",
            "{today+99999999999d}",
            "{today+3}",
            "{today+3h}",
            "{today3d}",
            "{todayx}",
        ] {
            assert!(resolve(bad, &anchors).is_err(), "{bad}");
        }
    }
}
