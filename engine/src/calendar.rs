//! Calendar arithmetic for timers: local wall-clock times in IANA zones across DST changes,
//! offsets and delays (optionally in business days), and cron schedules.
//!
//! The rules, the same for every kind of timer:
//! - a local time that does not exist (the hour skipped when clocks spring forward) fires at the
//!   first valid instant after it (02:30 in a 02:00→03:00 gap fires at 03:00);
//! - a local time that exists twice (the hour repeated when clocks fall back) fires once, at its
//!   first occurrence;
//! - cron occurrences are computed on the local wall clock and then mapped to instants with the
//!   rules above; an occurrence that maps onto an instant already fired is dropped, so successive
//!   occurrences strictly increase. The `cron` crate's own time-zone handling is not used: it is
//!   computed over a zone-less calendar (UTC as a stand-in) and mapped here.

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// The longest DST gap searched for a valid instant (real gaps are at most two hours).
const MAX_GAP_MINUTES: i64 = 24 * 60;

/// Parses an IANA zone name.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name).map_err(|_| format!("`{name}` is not an IANA time zone (e.g. Europe/Berlin, Asia/Shanghai)"))
}

/// The instant a local wall-clock time denotes in `zone`, by the rules of the module docs.
pub fn local_to_utc(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Step forward to the first whole minute that exists: the end of the gap.
            let start = local.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(local);
            for minutes in 1..=MAX_GAP_MINUTES {
                let candidate = start + Duration::minutes(minutes);
                match zone.from_local_datetime(&candidate) {
                    LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => return at.with_timezone(&Utc),
                    LocalResult::None => {}
                }
            }
            // No zone has a day-long gap; fall back to reading the time as UTC.
            Utc.from_utc_datetime(&local)
        }
    }
}

/// Parses a local time of day, `HH:MM` or `HH:MM:SS`.
pub fn parse_time_of_day(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .map_err(|_| format!("`{s}` is not a time of day: write HH:MM (e.g. 09:00)"))
}

/// A signed distance in time, as admins write it: `-90d`, `2w`, `-4h`, `30m`, `0d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// How many units; negative is before.
    pub count: i64,
    /// The unit.
    pub unit: SpanUnit,
}

/// Units of a [`Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanUnit {
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Calendar days (or business days).
    Days,
    /// Weeks of seven days (or five business days).
    Weeks,
}

impl Span {
    /// Parses `[-]N(m|h|d|w)`; `allow_negative` is false for delays.
    pub fn parse(s: &str, allow_negative: bool) -> Result<Span, String> {
        let invalid = || {
            format!(
                "`{s}` is not {}: write a whole number followed by m, h, d or w (e.g. {})",
                if allow_negative { "an offset" } else { "a delay" },
                if allow_negative { "-90d, -2w, 1d, -4h" } else { "7d, 4h, 30m" }
            )
        };
        let (negative, rest) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        if negative && !allow_negative {
            return Err(format!("`{s}`: a delay can't be negative"));
        }
        let Some(unit) = rest.chars().last() else { return Err(invalid()) };
        let unit = match unit {
            'm' => SpanUnit::Minutes,
            'h' => SpanUnit::Hours,
            'd' => SpanUnit::Days,
            'w' => SpanUnit::Weeks,
            _ => return Err(invalid()),
        };
        let digits = &rest[..rest.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let count: i64 = digits.parse().map_err(|_| invalid())?;
        // Ten years either way is more than any reminder needs and keeps arithmetic in range.
        let limit = match unit {
            SpanUnit::Minutes => 10 * 366 * 24 * 60,
            SpanUnit::Hours => 10 * 366 * 24,
            SpanUnit::Days => 10 * 366,
            SpanUnit::Weeks => 10 * 53,
        };
        if count > limit {
            return Err(format!("`{s}` is too far: at most ten years"));
        }
        if !allow_negative && count == 0 {
            return Err(format!("`{s}`: a delay must be longer than zero"));
        }
        Ok(Span { count: if negative { -count } else { count }, unit })
    }

    fn days(self) -> Option<i64> {
        match self.unit {
            SpanUnit::Days => Some(self.count),
            SpanUnit::Weeks => Some(self.count * 7),
            SpanUnit::Minutes | SpanUnit::Hours => None,
        }
    }

    fn business_days(self) -> Option<i64> {
        match self.unit {
            SpanUnit::Days => Some(self.count),
            SpanUnit::Weeks => Some(self.count * 5),
            SpanUnit::Minutes | SpanUnit::Hours => None,
        }
    }

    /// The span as an exact duration (days of 24 hours).
    pub fn exact(self) -> Duration {
        match self.unit {
            SpanUnit::Minutes => Duration::minutes(self.count),
            SpanUnit::Hours => Duration::hours(self.count),
            SpanUnit::Days => Duration::days(self.count),
            SpanUnit::Weeks => Duration::weeks(self.count),
        }
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The first weekday on or after `date`.
fn roll_to_weekday(mut date: NaiveDate) -> NaiveDate {
    while is_weekend(date) {
        date = date.succ_opt().unwrap_or(date);
    }
    date
}

/// `date` moved by `days` business days (Monday to Friday); a start on a weekend counts from
/// the next Monday, and the result never lands on a weekend.
fn add_business_days(date: NaiveDate, days: i64) -> NaiveDate {
    let mut date = roll_to_weekday(date);
    let step = if days < 0 { -1 } else { 1 };
    let mut left = days.abs();
    while left > 0 {
        date += Duration::days(step);
        if !is_weekend(date) {
            left -= 1;
        }
    }
    date
}

/// The instant of a date offset: the local date `date` moved by `offset`, at local `time` in
/// `zone`. Minute and hour offsets count from that local date and time.
pub fn date_offset(date: NaiveDate, offset: Span, time: NaiveTime, zone: Tz, business_days: bool) -> DateTime<Utc> {
    let day_count = if business_days { offset.business_days() } else { offset.days() };
    match day_count {
        Some(days) => {
            let target = if business_days { add_business_days(date, days) } else { date + Duration::days(days) };
            local_to_utc(zone, target.and_time(time))
        }
        None => {
            let base = local_to_utc(zone, date.and_time(time));
            let at = base + offset.exact();
            if business_days {
                weekday_at_same_local_time(at, zone)
            } else {
                at
            }
        }
    }
}

/// The instant `delay` after `from`: calendar days and weeks keep the local time of day in
/// `zone` (a DST change does not shift a "7d" reminder by an hour); with `business_days`, days
/// are business days and a result on a weekend moves to Monday at the same local time.
pub fn after_delay(from: DateTime<Utc>, delay: Span, zone: Tz, business_days: bool) -> DateTime<Utc> {
    let local = from.with_timezone(&zone).naive_local();
    let day_count = if business_days { delay.business_days() } else { delay.days() };
    match day_count {
        Some(days) => {
            let date =
                if business_days { add_business_days(local.date(), days) } else { local.date() + Duration::days(days) };
            local_to_utc(zone, date.and_time(local.time()))
        }
        None => {
            let at = from + delay.exact();
            if business_days {
                weekday_at_same_local_time(at, zone)
            } else {
                at
            }
        }
    }
}

fn weekday_at_same_local_time(at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let local = at.with_timezone(&zone).naive_local();
    if !is_weekend(local.date()) {
        return at;
    }
    local_to_utc(zone, roll_to_weekday(local.date()).and_time(local.time()))
}

/// A cron schedule; the zone it runs in is given with each question, so one parsed schedule
/// serves whatever zone the workflow or its space names.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    schedule: cron::Schedule,
}

impl CronSchedule {
    /// Parses a crontab expression: 5 fields (minute hour day-of-month month day-of-week, days
    /// 0–7 with 0 and 7 Sunday, or names) or the `cron` crate's 6/7 fields (seconds first, an
    /// optional year last, days 1–7 with 1 Sunday, or names).
    pub fn parse(expression: &str) -> Result<CronSchedule, String> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let normalized = match fields.len() {
            5 => {
                let day_of_week = crontab_days_of_week(fields[4])
                    .map_err(|message| format!("`{expression}`: the day-of-week field: {message}"))?;
                format!("0 {} {} {} {} {day_of_week}", fields[0], fields[1], fields[2], fields[3])
            }
            6 | 7 => fields.join(" "),
            n => {
                return Err(format!(
                    "`{expression}` has {n} fields; a cron schedule has 5 (minute hour day month weekday), \
                     or 6/7 with seconds and year"
                ))
            }
        };
        let schedule = cron::Schedule::from_str(&normalized).map_err(|err| format!("`{expression}`: {err}"))?;
        if schedule.after(&DateTime::<Utc>::UNIX_EPOCH).next().is_none() {
            return Err(format!("`{expression}` never fires"));
        }
        Ok(CronSchedule { schedule })
    }

    /// The first occurrence in `zone` strictly after `after`, with its local wall-clock time.
    /// Occurrences are searched on the local calendar and mapped by the module's DST rules, so
    /// the result is always strictly later than `after`.
    pub fn next_after(&self, after: DateTime<Utc>, zone: Tz) -> Option<(DateTime<Utc>, NaiveDateTime)> {
        // The local wall time of `after`, minus the largest DST shift, so that an occurrence
        // that maps forward past `after` (a gap) is not missed.
        let local_after = after.with_timezone(&zone).naive_local() - Duration::hours(3);
        let stand_in = Utc.from_utc_datetime(&local_after);
        for occurrence in self.schedule.after(&stand_in).take(10_000) {
            let local = occurrence.naive_utc();
            let at = local_to_utc(zone, local);
            if at > after {
                return Some((at, local));
            }
        }
        None
    }
}

/// Rewrites a crontab day-of-week field (0–7, 0 and 7 Sunday) into the `cron` crate's
/// numbering (1–7, 1 Sunday); ranges and steps become explicit lists, names pass through.
fn crontab_days_of_week(field: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().map_err(|_| format!("`{step}` is not a step"))?;
                if step == 0 {
                    return Err("a step can't be 0".into());
                }
                (range, step)
            }
            None => (item, 1),
        };
        let number = |s: &str| -> Result<Option<u32>, String> {
            if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                let n: u32 = s.parse().map_err(|_| format!("`{s}` is not a day"))?;
                if n > 7 {
                    return Err(format!("`{s}` is not a day (0–7, or SUN–SAT)"));
                }
                Ok(Some(n))
            } else {
                Ok(None)
            }
        };
        let bounds = match range {
            "*" | "?" => Some((0, 6)),
            _ => match range.split_once('-') {
                Some((start, end)) => match (number(start)?, number(end)?) {
                    (Some(start), Some(end)) if start <= end => Some((start, end)),
                    (Some(_), Some(_)) => return Err(format!("`{range}` runs backwards")),
                    (None, None) => None,
                    _ => return Err(format!("`{range}` mixes numbers and names")),
                },
                None => number(range)?.map(|n| (n, if step > 1 { 6 } else { n })),
            },
        };
        match bounds {
            Some((start, end)) => {
                out.extend((start..=end).step_by(step as usize).map(|day| (day % 7 + 1).to_string()));
            }
            None => out.push(item.to_owned()),
        }
    }
    out.dedup();
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("a valid instant").with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a valid date")
    }

    fn nine() -> NaiveTime {
        NaiveTime::from_hms_opt(9, 0, 0).expect("a valid time")
    }

    #[test]
    fn spans_parse_with_signs_and_units() {
        assert_eq!(Span::parse("-90d", true), Ok(Span { count: -90, unit: SpanUnit::Days }));
        assert_eq!(Span::parse("2w", true), Ok(Span { count: 2, unit: SpanUnit::Weeks }));
        assert_eq!(Span::parse("0d", true), Ok(Span { count: 0, unit: SpanUnit::Days }));
        assert!(Span::parse("-7d", false).is_err());
        assert!(Span::parse("0d", false).is_err());
        for bad in ["", "d", "90", "-d", "9x", "1.5d", "99999d"] {
            assert!(Span::parse(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_land_at_local_time_in_the_zone() {
        let shanghai = parse_zone("Asia/Shanghai").expect("zone");
        let offset = Span::parse("-30d", true).expect("offset");
        // 09:00 in Shanghai (UTC+8) is 01:00 UTC.
        assert_eq!(date_offset(date("2027-06-30"), offset, nine(), shanghai, false), utc("2027-05-31T01:00:00Z"));
    }

    #[test]
    fn a_daily_local_time_holds_across_dst() {
        let berlin = parse_zone("Europe/Berlin").expect("zone");
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(local_to_utc(berlin, date("2027-03-27").and_time(nine())), utc("2027-03-27T08:00:00Z"));
        assert_eq!(local_to_utc(berlin, date("2027-03-29").and_time(nine())), utc("2027-03-29T07:00:00Z"));
    }

    #[test]
    fn a_time_that_does_not_exist_fires_at_the_end_of_the_gap() {
        let berlin = parse_zone("Europe/Berlin").expect("zone");
        let skipped = date("2027-03-28").and_hms_opt(2, 30, 0).expect("time");
        // Clocks go from 02:00 to 03:00 local (01:00 UTC).
        assert_eq!(local_to_utc(berlin, skipped), utc("2027-03-28T01:00:00Z"));
    }

    #[test]
    fn a_time_that_exists_twice_fires_at_its_first_occurrence() {
        let berlin = parse_zone("Europe/Berlin").expect("zone");
        let repeated = date("2027-10-31").and_hms_opt(2, 30, 0).expect("time");
        // 02:30 CEST (UTC+2) comes first, then 02:30 CET.
        assert_eq!(local_to_utc(berlin, repeated), utc("2027-10-31T00:30:00Z"));
    }

    #[test]
    fn business_days_skip_weekends() {
        let utc_zone = parse_zone("UTC").expect("zone");
        // 2027-01-08 is a Friday.
        let friday = utc("2027-01-08T15:00:00Z");
        let one = Span::parse("1d", false).expect("delay");
        assert_eq!(after_delay(friday, one, utc_zone, true), utc("2027-01-11T15:00:00Z"));
        assert_eq!(after_delay(friday, one, utc_zone, false), utc("2027-01-09T15:00:00Z"));
        let week = Span::parse("1w", false).expect("delay");
        assert_eq!(after_delay(friday, week, utc_zone, true), utc("2027-01-15T15:00:00Z"));
        // A date offset landing on a Saturday moves to Monday at the same local time.
        let zero = Span::parse("0d", true).expect("offset");
        assert_eq!(date_offset(date("2027-01-09"), zero, nine(), utc_zone, true), utc("2027-01-11T09:00:00Z"));
        // Counting back three business days from a Tuesday gives the previous Thursday.
        let back = Span::parse("-3d", true).expect("offset");
        assert_eq!(date_offset(date("2027-01-12"), back, nine(), utc_zone, true), utc("2027-01-07T09:00:00Z"));
        // An hour delay that ends on a Saturday moves to Monday.
        let hours = Span::parse("10h", false).expect("delay");
        assert_eq!(after_delay(friday, hours, utc_zone, true), utc("2027-01-11T01:00:00Z"));
    }

    #[test]
    fn seven_days_later_keeps_the_local_time_across_dst() {
        let berlin = parse_zone("Europe/Berlin").expect("zone");
        let before = utc("2027-03-25T08:00:00Z"); // 09:00 CET
        let later = after_delay(before, Span::parse("7d", false).expect("delay"), berlin, false);
        assert_eq!(later, utc("2027-04-01T07:00:00Z"), "09:00 CEST");
    }

    #[test]
    fn crontab_days_use_sunday_zero() {
        assert_eq!(crontab_days_of_week("1").as_deref(), Ok("2"));
        assert_eq!(crontab_days_of_week("0,7").as_deref(), Ok("1"));
        assert_eq!(crontab_days_of_week("1-5").as_deref(), Ok("2,3,4,5,6"));
        assert_eq!(crontab_days_of_week("MON-FRI").as_deref(), Ok("MON-FRI"));
        assert_eq!(crontab_days_of_week("*/2").as_deref(), Ok("1,3,5,7"));
        assert!(crontab_days_of_week("8").is_err());
        assert!(crontab_days_of_week("5-1").is_err());
    }

    #[test]
    fn a_monday_cron_fires_on_mondays_at_local_time() {
        let berlin = parse_zone("Europe/Berlin").expect("zone");
        let schedule = CronSchedule::parse("0 9 * * 1").expect("cron");
        let (at, local) = schedule.next_after(utc("2027-03-24T12:00:00Z"), berlin).expect("next");
        assert_eq!(local.weekday(), Weekday::Mon);
        assert_eq!(at, utc("2027-03-29T07:00:00Z"), "09:00 CEST, the day after the change");
        let named = CronSchedule::parse("0 9 * * MON").expect("cron");
        assert_eq!(named.next_after(utc("2027-03-24T12:00:00Z"), berlin).map(|(at, _)| at), Some(at));
    }

    #[test]
    fn bad_cron_expressions_are_refused() {
        for bad in ["", "* * *", "61 * * * *", "0 9 * * 9", "0 9 31 2 *", "a b c d e"] {
            assert!(CronSchedule::parse(bad).is_err(), "{bad}");
        }
        assert!(parse_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn an_hourly_cron_fires_once_per_instant_across_both_changes() {
        let berlin = parse_zone("Europe/Berlin").expect("zone");
        let schedule = CronSchedule::parse("30 * * * *").expect("cron");
        let mut at = utc("2027-03-27T00:00:00Z");
        let mut fired = Vec::new();
        loop {
            let (next, _) = schedule.next_after(at, berlin).expect("next");
            if next >= utc("2027-03-29T00:00:00Z") {
                break;
            }
            fired.push(next);
            at = next;
        }
        // Local 01:30 on the 27th to 01:30 on the 29th: 49 wall-clock occurrences, the one at
        // 02:30 on the 28th (which does not exist) firing at 03:00, before 03:30.
        assert_eq!(fired.len(), 49);
        let at_gap: Vec<_> = fired.iter().filter(|t| t.date_naive() == date("2027-03-28") && t.hour() == 1).collect();
        assert_eq!(at_gap.len(), 2, "03:00 (the gap's end) and 03:30 local: {at_gap:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Over many zones and two years of dates: occurrences strictly increase (so no instant
        /// fires twice) and each lands on its local time unless that time does not exist.
        #[test]
        fn cron_occurrences_strictly_increase(zone in 0..chrono_tz::TZ_VARIANTS.len(), start_day in 0i64..730,
                                             expression in prop::sample::select(vec![
                                                 "0 9 * * *", "30 2 * * *", "0 * * * *", "15 1 * * SUN", "0 0 1 * *"])) {
            let zone = chrono_tz::TZ_VARIANTS[zone];
            let schedule = CronSchedule::parse(expression).expect("cron");
            let mut at = utc("2026-01-01T00:00:00Z") + Duration::days(start_day);
            let end = at + Duration::days(60);
            let mut count = 0;
            while at < end && count < 2_000 {
                let (next, local) = schedule.next_after(at, zone).expect("a next occurrence");
                prop_assert!(next > at);
                let shown = next.with_timezone(&zone).naive_local();
                prop_assert!(shown >= local, "{next} shows {shown}, before its local time {local}");
                if zone.from_local_datetime(&local).single().is_some() {
                    prop_assert_eq!(shown, local);
                }
                at = next;
                count += 1;
            }
        }

        #[test]
        fn daily_offsets_land_on_local_nine_or_the_gaps_end(zone in 0..chrono_tz::TZ_VARIANTS.len(), day in 0i64..730) {
            let zone = chrono_tz::TZ_VARIANTS[zone];
            let day = date("2026-01-01") + Duration::days(day);
            let at = date_offset(day, Span { count: 0, unit: SpanUnit::Days }, nine(), zone, false);
            let local = at.with_timezone(&zone).naive_local();
            let wanted = day.and_time(nine());
            if zone.from_local_datetime(&wanted).earliest().is_some() {
                // 09:00 exists that day (once or twice): exactly then.
                prop_assert_eq!(local, wanted);
            } else {
                // Skipped by a DST gap: the first local time after it, so later by less than
                // the gap, and the minute before is skipped too. (Gaps are at most 2 h.)
                prop_assert!(local > wanted && local - wanted <= Duration::hours(2), "{wanted} became {local}");
                let just_before = local - Duration::minutes(1);
                prop_assert!(zone.from_local_datetime(&just_before).earliest().is_none(), "{local} is not the gap's end");
            }
        }
    }
}
