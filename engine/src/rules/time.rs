//! Dates, date-times and durations in scripts: the three value types and every host function
//! and operator on them (the semantics are documented in the `rules` module docs).
//!
//! Functions: `now()`, `today()`, `today(zone)`, `date(x)`, `date(y, m, d)`, `datetime(x)`,
//! `local_time(x, zone)`, `days(n)`, `weeks(n)`, `hours(n)`, `minutes(n)`, `seconds(n)`,
//! `days_until(x)`, `days_since(x)`, `as_days(d)`, `as_hours(d)`, `as_minutes(d)`,
//! `as_seconds(d)`, `abs(d)`. Properties: `date.year/month/day/weekday`,
//! `datetime.year/month/day/hour/minute/second/weekday/date`, `duration.days/hours/minutes/
//! seconds`. Where a date or date-time is expected, a string is accepted; where one is
//! optional (`date`, `datetime`, `days_until`, `days_since`), `()` gives `()`, so an empty
//! record field yields an empty result rather than an error.
//!
//! Nothing here panics on script input: every calendar and duration step is checked and an
//! out-of-range result is a runtime error.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeDelta, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Variant, FLOAT, INT};

use crate::clock::Clock;
use crate::rules::convert::float_to_json;
use crate::rules::sandbox;

type Fallible<T> = Result<T, Box<EvalAltResult>>;

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// A calendar day (rhai type `date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ScriptDate(pub NaiveDate);

impl fmt::Display for ScriptDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// An instant (rhai type `datetime`), with the zone `local_time` pinned to it, if any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScriptDateTime {
    pub at: DateTime<Utc>,
    pub zone: Option<Tz>,
}

impl ScriptDateTime {
    fn instant(at: DateTime<Utc>) -> Self {
        Self { at, zone: None }
    }

    /// The zone calendar questions use: the pinned one, else the evaluation's.
    fn calendar_zone(&self) -> Tz {
        self.zone.unwrap_or_else(sandbox::zone)
    }

    fn local(&self) -> DateTime<Tz> {
        self.at.with_timezone(&self.calendar_zone())
    }
}

impl fmt::Display for ScriptDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.zone {
            None => f.write_str(&self.at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Some(zone) => f.write_str(&self.at.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// An exact length of time (rhai type `duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ScriptDuration(pub TimeDelta);

impl ScriptDuration {
    /// The JSON form: seconds, an integer when whole.
    pub(crate) fn json_seconds(&self) -> serde_json::Value {
        if self.0.subsec_nanos() == 0 {
            serde_json::Value::from(self.0.num_seconds())
        } else {
            float_to_json(self.as_unit(MS_PER_SECOND)).unwrap_or(serde_json::Value::Null)
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn as_unit(&self, unit_ms: i64) -> FLOAT {
        self.0.num_milliseconds() as FLOAT / unit_ms as FLOAT
    }
}

/// ISO 8601, e.g. "P30D", "PT2H30M", "-P1DT12H", "PT0.5S".
impl fmt::Display for ScriptDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total_ms = i128::from(self.0.num_milliseconds());
        if total_ms == 0 {
            return f.write_str("PT0S");
        }
        if total_ms < 0 {
            f.write_str("-")?;
        }
        let ms = total_ms.unsigned_abs();
        let (days, rest) = (ms / MS_PER_DAY as u128, ms % MS_PER_DAY as u128);
        let (hours, rest) = (rest / MS_PER_HOUR as u128, rest % MS_PER_HOUR as u128);
        let (minutes, rest) = (rest / MS_PER_MINUTE as u128, rest % MS_PER_MINUTE as u128);
        let (seconds, millis) = (rest / MS_PER_SECOND as u128, rest % MS_PER_SECOND as u128);
        f.write_str("P")?;
        if days > 0 {
            write!(f, "{days}D")?;
        }
        if hours > 0 || minutes > 0 || seconds > 0 || millis > 0 {
            f.write_str("T")?;
            if hours > 0 {
                write!(f, "{hours}H")?;
            }
            if minutes > 0 {
                write!(f, "{minutes}M")?;
            }
            match (seconds, millis) {
                (0, 0) => {}
                (s, 0) => write!(f, "{s}S")?,
                (s, m) => write!(f, "{s}.{}S", format!("{m:03}").trim_end_matches('0'))?,
            }
        }
        Ok(())
    }
}

/// A date or an instant, whichever a value or a string turned out to be.
#[derive(Debug, Clone, Copy)]
enum Temporal {
    Date(NaiveDate),
    At(ScriptDateTime),
}

impl Temporal {
    /// The calendar day: an instant's date in its calendar zone.
    fn date(self) -> NaiveDate {
        match self {
            Temporal::Date(date) => date,
            Temporal::At(at) => at.local().date_naive(),
        }
    }

    /// The instant: a date's start in the evaluation's zone.
    fn instant(self) -> Fallible<DateTime<Utc>> {
        match self {
            Temporal::Date(date) => start_of_day(date, sandbox::zone()),
            Temporal::At(at) => Ok(at.at),
        }
    }
}

/// Values that stand for a date or an instant.
trait AsTemporal: Variant + Clone {
    fn temporal(&self) -> Fallible<Temporal>;
}

impl AsTemporal for ScriptDate {
    fn temporal(&self) -> Fallible<Temporal> {
        Ok(Temporal::Date(self.0))
    }
}

impl AsTemporal for ScriptDateTime {
    fn temporal(&self) -> Fallible<Temporal> {
        Ok(Temporal::At(*self))
    }
}

impl AsTemporal for ImmutableString {
    fn temporal(&self) -> Fallible<Temporal> {
        parse_temporal(self)
    }
}

fn parse_temporal(text: &str) -> Fallible<Temporal> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Temporal::Date(date));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Temporal::At(ScriptDateTime::instant(at.with_timezone(&Utc))));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return local_to_utc(local, sandbox::zone()).map(|at| Temporal::At(ScriptDateTime::instant(at)));
        }
    }
    Err(format!("`{}` is not a date (YYYY-MM-DD) or a date-time (RFC 3339, e.g. 2027-03-01T09:00:00Z)", excerpt(text))
        .into())
}

/// Error messages quote script strings, which may be up to `max_string_size` long.
fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX_CHARS).collect::<String>())
    }
}

fn parse_zone(name: &str) -> Fallible<Tz> {
    name.trim().parse::<Tz>().map_err(|_| format!("`{}` is not a time zone (e.g. Europe/Paris)", excerpt(name)).into())
}

/// A local wall-clock time in `zone` as an instant. In a gap (clocks jumping forward) the time
/// moves forward by the gap; when ambiguous (clocks going back) the earlier instant wins.
fn local_to_utc(local: NaiveDateTime, zone: Tz) -> Fallible<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Ok(at.with_timezone(&Utc)),
        LocalResult::None => {
            // Gaps are at most a few hours long; the first hour after that exists is the answer.
            for hours in 1..=3 {
                let later = local.checked_add_signed(TimeDelta::hours(hours)).ok_or("date out of range")?;
                if let Some(at) = zone.from_local_datetime(&later).earliest() {
                    return Ok(at.with_timezone(&Utc));
                }
            }
            Err(format!("{local} does not exist in {zone}").into())
        }
    }
}

fn start_of_day(date: NaiveDate, zone: Tz) -> Fallible<DateTime<Utc>> {
    local_to_utc(date.and_time(NaiveTime::MIN), zone)
}

fn today_in(clock: &dyn Clock, zone: Tz) -> NaiveDate {
    sandbox::now(clock).with_timezone(&zone).date_naive()
}

fn compare(a: Temporal, b: Temporal) -> Ordering {
    match (a, b) {
        (Temporal::Date(a), Temporal::Date(b)) => a.cmp(&b),
        (Temporal::At(a), Temporal::At(b)) => a.at.cmp(&b.at),
        (a, b) => a.date().cmp(&b.date()),
    }
}

fn difference(a: Temporal, b: Temporal) -> Fallible<ScriptDuration> {
    match (a, b) {
        (Temporal::Date(a), Temporal::Date(b)) => Ok(ScriptDuration(a.signed_duration_since(b))),
        (a, b) => Ok(ScriptDuration(a.instant()?.signed_duration_since(b.instant()?))),
    }
}

fn shift_date(date: NaiveDate, by: TimeDelta) -> Fallible<NaiveDate> {
    if by.subsec_nanos() != 0 || by.num_seconds() % (MS_PER_DAY / MS_PER_SECOND) != 0 {
        return Err(format!(
            "a date moves by whole days, not {}; use datetime(...) for times of day",
            ScriptDuration(by)
        )
        .into());
    }
    date.checked_add_signed(by).ok_or_else(|| "date out of range".into())
}

fn shift_instant(at: ScriptDateTime, by: TimeDelta) -> Fallible<ScriptDateTime> {
    let moved = at.at.checked_add_signed(by).ok_or("date-time out of range")?;
    Ok(ScriptDateTime { at: moved, zone: at.zone })
}

fn shift(t: Temporal, by: TimeDelta) -> Fallible<Dynamic> {
    match t {
        Temporal::Date(date) => shift_date(date, by).map(|d| Dynamic::from(ScriptDate(d))),
        Temporal::At(at) => shift_instant(at, by).map(Dynamic::from),
    }
}

fn duration_from_ms(ms: i128) -> Fallible<ScriptDuration> {
    i64::try_from(ms)
        .ok()
        .and_then(TimeDelta::try_milliseconds)
        .map(ScriptDuration)
        .ok_or_else(|| "duration out of range".into())
}

fn duration_of_int(n: INT, unit_ms: i64) -> Fallible<ScriptDuration> {
    duration_from_ms(i128::from(n) * i128::from(unit_ms))
}

#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn duration_of_float(n: FLOAT, unit_ms: i64) -> Fallible<ScriptDuration> {
    let ms = (n * unit_ms as FLOAT).round();
    // i64 milliseconds span ±292 million years; beyond that (or NaN) is no duration.
    if !ms.is_finite() || ms.abs() >= 9.2e18 {
        return Err("duration out of range".into());
    }
    duration_from_ms(ms as i128)
}

fn scale_duration(d: ScriptDuration, factor: FLOAT) -> Fallible<ScriptDuration> {
    duration_of_float(d.as_unit(1) * factor, 1)
}

fn whole_days_between(from: NaiveDate, to: NaiveDate) -> INT {
    to.signed_duration_since(from).num_days()
}

/// Whether an ordering satisfies a comparison operator.
type Test = fn(Ordering) -> bool;

const COMPARISONS: [(&str, Test); 6] = [
    ("==", Ordering::is_eq),
    ("!=", Ordering::is_ne),
    ("<", Ordering::is_lt),
    ("<=", Ordering::is_le),
    (">", Ordering::is_gt),
    (">=", Ordering::is_ge),
];

/// `==`..`>=` and `-` between `A` and `B`.
fn register_pair<A: AsTemporal, B: AsTemporal>(engine: &mut Engine) {
    for (op, test) in COMPARISONS {
        engine.register_fn(op, move |a: A, b: B| -> Fallible<bool> { Ok(test(compare(a.temporal()?, b.temporal()?))) });
    }
    engine.register_fn("-", |a: A, b: B| difference(a.temporal()?, b.temporal()?));
}

/// `days_until`, `days_since`, `date`, `datetime`, `local_time` for `A`.
fn register_temporal<A: AsTemporal>(engine: &mut Engine, clock: &Arc<dyn Clock>) {
    let c = clock.clone();
    engine.register_fn("days_until", move |a: A| -> Fallible<INT> {
        Ok(whole_days_between(today_in(&*c, sandbox::zone()), a.temporal()?.date()))
    });
    let c = clock.clone();
    engine.register_fn("days_since", move |a: A| -> Fallible<INT> {
        Ok(whole_days_between(a.temporal()?.date(), today_in(&*c, sandbox::zone())))
    });
    engine.register_fn("date", |a: A| -> Fallible<ScriptDate> { Ok(ScriptDate(a.temporal()?.date())) });
    engine.register_fn("datetime", |a: A| -> Fallible<ScriptDateTime> {
        Ok(ScriptDateTime::instant(a.temporal()?.instant()?))
    });
    engine.register_fn("local_time", |a: A, zone: ImmutableString| -> Fallible<ScriptDateTime> {
        let zone = parse_zone(&zone)?;
        let at = match a.temporal()? {
            Temporal::Date(date) => start_of_day(date, zone)?,
            Temporal::At(at) => at.at,
        };
        Ok(ScriptDateTime { at, zone: Some(zone) })
    });
}

pub(crate) fn register(engine: &mut Engine, clock: Arc<dyn Clock>) {
    engine
        .register_type_with_name::<ScriptDate>("date")
        .register_type_with_name::<ScriptDateTime>("datetime")
        .register_type_with_name::<ScriptDuration>("duration");

    let c = clock.clone();
    engine.register_fn("now", move || ScriptDateTime::instant(sandbox::now(&*c)));
    let c = clock.clone();
    engine.register_fn("today", move || ScriptDate(today_in(&*c, sandbox::zone())));
    let c = clock.clone();
    engine.register_fn("today", move |zone: ImmutableString| -> Fallible<ScriptDate> {
        Ok(ScriptDate(today_in(&*c, parse_zone(&zone)?)))
    });
    engine.register_fn("date", |year: INT, month: INT, day: INT| -> Fallible<ScriptDate> {
        let ymd = (i32::try_from(year).ok(), u32::try_from(month).ok(), u32::try_from(day).ok());
        match ymd {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y, m, d).map(ScriptDate),
            _ => None,
        }
        .ok_or_else(|| format!("{year}-{month}-{day} is not a date").into())
    });
    for name in ["date", "datetime", "days_until", "days_since"] {
        engine.register_fn(name, |_: ()| ());
    }

    register_temporal::<ScriptDate>(engine, &clock);
    register_temporal::<ScriptDateTime>(engine, &clock);
    register_temporal::<ImmutableString>(engine, &clock);
    register_pair::<ScriptDate, ScriptDate>(engine);
    register_pair::<ScriptDate, ScriptDateTime>(engine);
    register_pair::<ScriptDateTime, ScriptDate>(engine);
    register_pair::<ScriptDateTime, ScriptDateTime>(engine);
    register_pair::<ScriptDate, ImmutableString>(engine);
    register_pair::<ImmutableString, ScriptDate>(engine);
    register_pair::<ScriptDateTime, ImmutableString>(engine);
    register_pair::<ImmutableString, ScriptDateTime>(engine);
    // A string is a date or a date-time only once parsed, so its result type is too.
    engine.register_fn("+", |a: ImmutableString, d: ScriptDuration| shift(a.temporal()?, d.0));
    engine.register_fn("-", |a: ImmutableString, d: ScriptDuration| shift(a.temporal()?, -d.0));
    engine.register_fn("+", |a: ScriptDate, d: ScriptDuration| shift_date(a.0, d.0).map(ScriptDate));
    engine.register_fn("+", |d: ScriptDuration, a: ScriptDate| shift_date(a.0, d.0).map(ScriptDate));
    engine.register_fn("-", |a: ScriptDate, d: ScriptDuration| shift_date(a.0, -d.0).map(ScriptDate));
    engine.register_fn("+", |a: ScriptDateTime, d: ScriptDuration| shift_instant(a, d.0));
    engine.register_fn("+", |d: ScriptDuration, a: ScriptDateTime| shift_instant(a, d.0));
    engine.register_fn("-", |a: ScriptDateTime, d: ScriptDuration| shift_instant(a, -d.0));

    register_durations(engine);
    register_properties(engine);

    engine.register_fn("to_string", |d: &mut ScriptDate| d.to_string());
    engine.register_fn("to_debug", |d: &mut ScriptDate| format!("date({d})"));
    engine.register_fn("to_string", |d: &mut ScriptDateTime| d.to_string());
    engine.register_fn("to_debug", |d: &mut ScriptDateTime| format!("datetime({d})"));
    engine.register_fn("to_string", |d: &mut ScriptDuration| d.to_string());
    engine.register_fn("to_debug", |d: &mut ScriptDuration| format!("duration({d})"));
}

fn register_durations(engine: &mut Engine) {
    for (name, unit_ms) in [
        ("weeks", 7 * MS_PER_DAY),
        ("days", MS_PER_DAY),
        ("hours", MS_PER_HOUR),
        ("minutes", MS_PER_MINUTE),
        ("seconds", MS_PER_SECOND),
    ] {
        engine.register_fn(name, move |n: INT| duration_of_int(n, unit_ms));
        engine.register_fn(name, move |n: FLOAT| duration_of_float(n, unit_ms));
    }
    for (name, unit_ms) in [
        ("as_days", MS_PER_DAY),
        ("as_hours", MS_PER_HOUR),
        ("as_minutes", MS_PER_MINUTE),
        ("as_seconds", MS_PER_SECOND),
    ] {
        engine.register_fn(name, move |d: ScriptDuration| d.as_unit(unit_ms));
    }

    engine.register_fn("+", |a: ScriptDuration, b: ScriptDuration| -> Fallible<ScriptDuration> {
        a.0.checked_add(&b.0).map(ScriptDuration).ok_or_else(|| "duration out of range".into())
    });
    engine.register_fn("-", |a: ScriptDuration, b: ScriptDuration| -> Fallible<ScriptDuration> {
        a.0.checked_sub(&b.0).map(ScriptDuration).ok_or_else(|| "duration out of range".into())
    });
    // TimeDelta's range is symmetric, so negation can't overflow.
    engine.register_fn("-", |a: ScriptDuration| ScriptDuration(-a.0));
    engine.register_fn("abs", |a: ScriptDuration| ScriptDuration(a.0.abs()));
    engine.register_fn("*", |a: ScriptDuration, n: INT| {
        duration_from_ms(i128::from(a.0.num_milliseconds()) * i128::from(n))
    });
    engine.register_fn("*", |n: INT, a: ScriptDuration| {
        duration_from_ms(i128::from(a.0.num_milliseconds()) * i128::from(n))
    });
    engine.register_fn("*", scale_duration);
    engine.register_fn("*", |n: FLOAT, a: ScriptDuration| scale_duration(a, n));
    engine.register_fn("/", |a: ScriptDuration, n: INT| -> Fallible<ScriptDuration> {
        if n == 0 {
            return Err("division of a duration by zero".into());
        }
        duration_from_ms(i128::from(a.0.num_milliseconds()) / i128::from(n))
    });
    engine.register_fn("/", |a: ScriptDuration, n: FLOAT| -> Fallible<ScriptDuration> {
        if n == 0.0 {
            return Err("division of a duration by zero".into());
        }
        scale_duration(a, 1.0 / n)
    });
    for (op, test) in COMPARISONS {
        engine.register_fn(op, move |a: ScriptDuration, b: ScriptDuration| test(a.cmp(&b)));
    }
}

#[allow(clippy::cast_lossless)]
fn register_properties(engine: &mut Engine) {
    engine
        .register_get("year", |d: &mut ScriptDate| d.0.year() as INT)
        .register_get("month", |d: &mut ScriptDate| d.0.month() as INT)
        .register_get("day", |d: &mut ScriptDate| d.0.day() as INT)
        .register_get("weekday", |d: &mut ScriptDate| d.0.weekday().number_from_monday() as INT);
    engine
        .register_get("year", |d: &mut ScriptDateTime| d.local().year() as INT)
        .register_get("month", |d: &mut ScriptDateTime| d.local().month() as INT)
        .register_get("day", |d: &mut ScriptDateTime| d.local().day() as INT)
        .register_get("hour", |d: &mut ScriptDateTime| d.local().hour() as INT)
        .register_get("minute", |d: &mut ScriptDateTime| d.local().minute() as INT)
        .register_get("second", |d: &mut ScriptDateTime| d.local().second() as INT)
        .register_get("weekday", |d: &mut ScriptDateTime| d.local().weekday().number_from_monday() as INT)
        .register_get("date", |d: &mut ScriptDateTime| ScriptDate(d.local().date_naive()));
    engine
        .register_get("days", |d: &mut ScriptDuration| d.0.num_days())
        .register_get("hours", |d: &mut ScriptDuration| d.0.num_hours())
        .register_get("minutes", |d: &mut ScriptDuration| d.0.num_minutes())
        .register_get("seconds", |d: &mut ScriptDuration| d.0.num_seconds());
}
