//! When to try a request again: capped exponential backoff with full jitter, a budget after which
//! the patient is asked, and the server's `Retry-After` (RFC 9110 §10.2.3).
//!
//! Nothing here reads a clock or a random source: `now` and the jitter sample are arguments, so a
//! test drives the policy on a virtual clock and the app passes `Date.now()` and `Math.random()`.
//!
//! Full jitter (a uniform delay between zero and the exponential ceiling) rather than a fixed
//! ladder: when a hospital's API comes back after an outage, every phone that queued a booking
//! during it would otherwise retry in the same second and knock it over again.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// How long to wait between tries and when to stop and ask the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Ceiling of the first retry's delay; each further failure doubles it.
    pub base_ms: u64,
    /// Highest ceiling, however many failures came before.
    pub cap_ms: u64,
    /// Failed exchanges in one run before the patient is asked.
    pub max_attempts: u32,
    /// Longest a run may last, from its start to its last scheduled try.
    pub max_elapsed_ms: u64,
}

impl Default for RetryPolicy {
    /// About two minutes of tries on average, at most ten: long enough to ride out a tunnel or a
    /// short outage, short enough that a patient is not left wondering for the rest of the day.
    fn default() -> Self {
        Self {
            base_ms: 2_000,
            cap_ms: 120_000,
            max_attempts: 8,
            max_elapsed_ms: 10 * 60 * 1_000,
        }
    }
}

/// Where one run of tries stands against its budget. A fresh run starts when the intent is
/// created and again each time the patient chooses to keep trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tries {
    failures: u32,
    since: DateTime<Utc>,
}

impl Tries {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            failures: 0,
            since: now,
        }
    }

    /// Failed exchanges so far in this run.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When this run started.
    pub fn since(&self) -> DateTime<Utc> {
        self.since
    }
}

/// What to do after a failed exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextTry {
    /// Try again at this instant, not before.
    At(DateTime<Utc>),
    /// The budget is spent: stop and ask the patient.
    Exhausted,
}

impl RetryPolicy {
    /// The exponential ceiling for retry number `attempt` (0 for the first retry):
    /// `min(cap, base × 2^attempt)`, saturating instead of overflowing.
    pub fn ceiling(&self, attempt: u32) -> TimeDelta {
        let factor = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
        millis(self.base_ms.saturating_mul(factor).min(self.cap_ms))
    }

    /// A delay drawn uniformly from `[0, ceiling(attempt))` by `jitter`, a sample in `[0, 1)`.
    ///
    /// A sample outside that range is clamped (NaN counts as 0): a broken random source may make
    /// retries eager, but never later than the ceiling.
    ///
    /// ```
    /// use fairslot_core::retry::RetryPolicy;
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.delay(3, 0.0).num_milliseconds(), 0);
    /// assert!(policy.delay(3, 0.999_999) < policy.ceiling(3));
    /// ```
    pub fn delay(&self, attempt: u32, jitter: f64) -> TimeDelta {
        let ceiling = self.ceiling(attempt).num_milliseconds();
        if ceiling <= 0 {
            return TimeDelta::zero();
        }
        let unit = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        // Rounding can carry a sample just under 1 up to the ceiling itself; the range is open.
        let drawn = (ceiling as f64 * unit).floor() as i64;
        TimeDelta::milliseconds(drawn.clamp(0, ceiling - 1))
    }

    /// Records a failed exchange and says when to try next. `not_before` is the server's
    /// `Retry-After` deadline, if it sent one: a try is never scheduled earlier than that.
    ///
    /// The run is spent once `max_attempts` exchanges have failed, or when the next try would
    /// fall beyond `max_elapsed_ms` from the run's start — a far `Retry-After` included, so the
    /// patient is asked rather than left waiting silently.
    pub fn after_failure(
        &self,
        tries: &mut Tries,
        not_before: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> NextTry {
        tries.failures = tries.failures.saturating_add(1);
        if tries.failures >= self.max_attempts {
            return NextTry::Exhausted;
        }
        let backoff = add(now, self.delay(tries.failures - 1, jitter));
        let at = not_before.map_or(backoff, |nb| backoff.max(nb));
        if at > add(tries.since, millis(self.max_elapsed_ms)) {
            return NextTry::Exhausted;
        }
        NextTry::At(at)
    }
}

/// What an HTTP status says about the request that got it, the one rule every adapter and the
/// outbox share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// 2xx.
    Success,
    /// "Not now": 5xx, 429, or 408 (the request did not arrive in full, so it was never acted
    /// on). The same request may work later, or at another endpoint.
    Retryable,
    /// "No": any other status. The same request would get the same answer.
    Refusal,
}

impl Answered {
    /// ```
    /// use fairslot_core::retry::Answered;
    /// assert_eq!(Answered::of(201), Answered::Success);
    /// assert_eq!(Answered::of(503), Answered::Retryable);
    /// assert_eq!(Answered::of(408), Answered::Retryable);
    /// assert_eq!(Answered::of(409), Answered::Refusal);
    /// ```
    pub fn of(status: u16) -> Self {
        match status {
            200..=299 => Self::Success,
            408 | 429 | 500.. => Self::Retryable,
            _ => Self::Refusal,
        }
    }
}

/// The server's `Retry-After`: how long to wait, or until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// `delay-seconds`, counted from when the answer arrived.
    Seconds(u64),
    /// An `HTTP-date`.
    Date(DateTime<Utc>),
}

/// Why a `Retry-After` value was not understood. The caller then falls back to its own backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RetryAfterError {
    #[error("Retry-After is empty")]
    Empty,
    #[error("Retry-After is neither a number of seconds nor an HTTP-date")]
    Malformed,
    #[error("Retry-After names a day or time that does not exist")]
    NoSuchDate,
    #[error("Retry-After names a weekday that does not match its date")]
    WrongWeekday,
}

impl RetryAfter {
    /// Parses a header value: `delay-seconds` or an `HTTP-date` in any of its three forms —
    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete RFC 850
    /// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`) forms, which
    /// RFC 9110 asks recipients to accept.
    ///
    /// `received_at` is needed only for RFC 850's two-digit year: a year that would be more than
    /// 50 years ahead is the most recent past one with the same last two digits (§5.6.7).
    /// Names are case-sensitive and the weekday must match the date, as the grammar says; a value
    /// that bends either is more likely broken than meant.
    ///
    /// ```
    /// use fairslot_core::retry::RetryAfter;
    /// let now = "2026-11-22T08:00:00Z".parse().unwrap();
    /// assert_eq!(RetryAfter::parse(" 120 ", now), Ok(RetryAfter::Seconds(120)));
    /// let date = RetryAfter::parse("Sun, 22 Nov 2026 08:05:00 GMT", now).unwrap();
    /// assert_eq!(date.not_before(now).to_rfc3339(), "2026-11-22T08:05:00+00:00");
    /// ```
    pub fn parse(value: &str, received_at: DateTime<Utc>) -> Result<Self, RetryAfterError> {
        let value = value.trim_matches([' ', '\t']);
        if value.is_empty() {
            return Err(RetryAfterError::Empty);
        }
        if value.bytes().all(|b| b.is_ascii_digit()) {
            // A delay too large for u64 is, for any client, "not in this lifetime".
            return Ok(Self::Seconds(value.parse().unwrap_or(u64::MAX)));
        }
        parse_http_date(value, received_at.year()).map(Self::Date)
    }

    /// The earliest instant a retry may be made, for an answer received at `received_at`.
    pub fn not_before(&self, received_at: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            Self::Seconds(s) => add(
                received_at,
                i64::try_from(s)
                    .ok()
                    .and_then(TimeDelta::try_seconds)
                    .unwrap_or(TimeDelta::MAX),
            ),
            Self::Date(at) => at,
        }
    }
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One of RFC 9110's three `HTTP-date` forms, by shape. Hand-written because chrono's
/// format-string parser is large in WebAssembly, and it would not check the grammar this closely.
fn parse_http_date(s: &str, this_year: i32) -> Result<DateTime<Utc>, RetryAfterError> {
    use RetryAfterError::Malformed;
    // Every form is ASCII; checking first also keeps the byte slicing below on char boundaries.
    if !s.is_ascii() {
        return Err(Malformed);
    }
    if let Some((day_name, rest)) = s.split_once(", ") {
        if let Some(weekday) = index_of(&DAYS, day_name) {
            // IMF-fixdate: `06 Nov 1994 08:49:37 GMT`
            let b = rest.as_bytes();
            if b.len() != 24 || b[2] != b' ' || b[6] != b' ' || b[11] != b' ' {
                return Err(Malformed);
            }
            let day = digits(&rest[0..2])?;
            let month = month(&rest[3..6])?;
            let year = digits(&rest[7..11])?;
            let at = time_gmt(&rest[12..])?;
            return assemble(weekday, year as i32, month, day, at);
        }
        if let Some(weekday) = index_of(&LONG_DAYS, day_name) {
            // RFC 850: `06-Nov-94 08:49:37 GMT`
            let b = rest.as_bytes();
            if b.len() != 22 || b[2] != b'-' || b[6] != b'-' || b[9] != b' ' {
                return Err(Malformed);
            }
            let day = digits(&rest[0..2])?;
            let month = month(&rest[3..6])?;
            let yy = digits(&rest[7..9])? as i32;
            let mut year = this_year - this_year.rem_euclid(100) + yy;
            if year > this_year + 50 {
                year -= 100;
            }
            let at = time_gmt(&rest[10..])?;
            return assemble(weekday, year, month, day, at);
        }
        return Err(Malformed);
    }
    // asctime: `Sun Nov  6 08:49:37 1994`
    let b = s.as_bytes();
    if b.len() != 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
        return Err(Malformed);
    }
    let weekday = index_of(&DAYS, &s[0..3]).ok_or(Malformed)?;
    let month = month(&s[4..7])?;
    let day = match b[8] {
        b' ' => digits(&s[9..10])?,
        _ => digits(&s[8..10])?,
    };
    let at = time(&s[11..19])?;
    let year = digits(&s[20..24])?;
    assemble(weekday, year as i32, month, day, at)
}

fn index_of(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|n| *n == name)
}

fn month(s: &str) -> Result<u32, RetryAfterError> {
    index_of(&MONTHS, s)
        .map(|i| i as u32 + 1)
        .ok_or(RetryAfterError::Malformed)
}

/// Fixed-width ASCII digits; no sign, no spaces.
fn digits(s: &str) -> Result<u32, RetryAfterError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RetryAfterError::Malformed);
    }
    s.parse().map_err(|_| RetryAfterError::Malformed)
}

/// `HH:MM:SS GMT`.
fn time_gmt(s: &str) -> Result<(u32, u32, u32), RetryAfterError> {
    match s.strip_suffix(" GMT") {
        Some(t) if t.len() == 8 => time(t),
        _ => Err(RetryAfterError::Malformed),
    }
}

/// `HH:MM:SS`.
fn time(s: &str) -> Result<(u32, u32, u32), RetryAfterError> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return Err(RetryAfterError::Malformed);
    }
    Ok((digits(&s[0..2])?, digits(&s[3..5])?, digits(&s[6..8])?))
}

fn assemble(
    weekday: usize,
    year: i32,
    month: u32,
    day: u32,
    (hour, minute, second): (u32, u32, u32),
) -> Result<DateTime<Utc>, RetryAfterError> {
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(RetryAfterError::NoSuchDate)?;
    if date.weekday() != Weekday::try_from(weekday as u8).expect("index below 7") {
        return Err(RetryAfterError::WrongWeekday);
    }
    // The grammar allows second 60 for a leap second; chrono has no such instant, so it is read
    // as the first second of the next minute — one second late, never early.
    let (second, leap) = if second == 60 { (59, 1) } else { (second, 0) };
    let at = date
        .and_hms_opt(hour, minute, second)
        .ok_or(RetryAfterError::NoSuchDate)?
        .and_utc();
    Ok(add(at, TimeDelta::seconds(leap)))
}

fn millis(ms: u64) -> TimeDelta {
    i64::try_from(ms)
        .ok()
        .and_then(TimeDelta::try_milliseconds)
        .unwrap_or(TimeDelta::MAX)
}

/// `at + d`, saturating at the end of representable time instead of panicking.
pub(crate) fn add(at: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    /// The largest sample below 1.
    const ALMOST_ONE: f64 = 1.0 - f64::EPSILON / 2.0;

    #[test]
    fn ceiling_doubles_from_base_and_stops_at_cap() {
        let p = RetryPolicy {
            base_ms: 1_000,
            cap_ms: 30_000,
            ..RetryPolicy::default()
        };
        let ceilings: Vec<i64> = (0..7).map(|a| p.ceiling(a).num_seconds()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(p.ceiling(64), millis(30_000));
        assert_eq!(p.ceiling(u32::MAX), millis(30_000));
    }

    #[test]
    fn jitter_spans_zero_to_just_under_the_ceiling() {
        let p = RetryPolicy::default();
        for attempt in [0, 1, 5, 10, 40, u32::MAX] {
            let ceiling = p.ceiling(attempt);
            assert_eq!(p.delay(attempt, 0.0), TimeDelta::zero());
            let top = p.delay(attempt, ALMOST_ONE);
            assert!(top < ceiling, "attempt {attempt}: {top} !< {ceiling}");
            assert_eq!(top, ceiling - TimeDelta::milliseconds(1));
            let mid = p.delay(attempt, 0.5);
            assert_eq!(mid.num_milliseconds(), ceiling.num_milliseconds() / 2);
        }
    }

    #[test]
    fn a_broken_random_source_never_waits_past_the_ceiling() {
        let p = RetryPolicy::default();
        let ceiling = p.ceiling(2);
        assert_eq!(p.delay(2, f64::NAN), TimeDelta::zero());
        assert_eq!(p.delay(2, -3.0), TimeDelta::zero());
        assert!(p.delay(2, 1.0) < ceiling);
        assert!(p.delay(2, f64::INFINITY) < ceiling);
        let zero = RetryPolicy { base_ms: 0, ..p };
        assert_eq!(zero.delay(3, 0.7), TimeDelta::zero());
    }

    #[test]
    fn virtual_clock_run_backs_off_then_runs_out_of_attempts() {
        let p = RetryPolicy {
            base_ms: 1_000,
            cap_ms: 8_000,
            max_attempts: 5,
            max_elapsed_ms: 3_600_000,
        };
        let start = t("2026-11-22T08:00:00Z");
        let mut tries = Tries::new(start);
        let mut now = start;
        let mut waits = Vec::new();
        for _ in 0..4 {
            match p.after_failure(&mut tries, None, now, ALMOST_ONE) {
                NextTry::At(at) => {
                    waits.push((at - now).num_milliseconds());
                    now = at;
                }
                NextTry::Exhausted => panic!("ran out after {} failures", tries.failures()),
            }
        }
        assert_eq!(waits, [999, 1_999, 3_999, 7_999]);
        assert_eq!(
            p.after_failure(&mut tries, None, now, 0.5),
            NextTry::Exhausted
        );
        assert_eq!(tries.failures(), 5);
        assert_eq!(tries.since(), start);
    }

    #[test]
    fn elapsed_budget_counts_from_the_start_of_the_run() {
        let p = RetryPolicy {
            base_ms: 60_000,
            cap_ms: 60_000,
            max_attempts: 100,
            max_elapsed_ms: 120_000,
        };
        let start = t("2026-11-22T08:00:00Z");
        let mut tries = Tries::new(start);
        assert_eq!(
            p.after_failure(&mut tries, None, start + secs(30), 0.5),
            NextTry::At(start + secs(60))
        );
        assert_eq!(
            p.after_failure(&mut tries, None, start + secs(100), ALMOST_ONE),
            NextTry::Exhausted
        );
    }

    #[test]
    fn retry_after_is_a_floor_never_shortened_by_jitter() {
        let p = RetryPolicy::default();
        let now = t("2026-11-22T08:00:00Z");
        let mut tries = Tries::new(now);
        let floor = now + secs(90);
        assert_eq!(
            p.after_failure(&mut tries, Some(floor), now, 0.0),
            NextTry::At(floor)
        );
        // A floor already passed leaves the backoff as it is.
        assert_eq!(
            p.after_failure(&mut tries, Some(now - secs(5)), now, 0.0),
            NextTry::At(now)
        );
    }

    #[test]
    fn a_retry_after_beyond_the_budget_asks_the_patient_instead_of_waiting_silently() {
        let p = RetryPolicy::default();
        let now = t("2026-11-22T08:00:00Z");
        let mut tries = Tries::new(now);
        let far = RetryAfter::Seconds(3 * 3600).not_before(now);
        assert_eq!(
            p.after_failure(&mut tries, Some(far), now, 0.0),
            NextTry::Exhausted
        );
    }

    #[test]
    fn retry_after_delay_seconds() {
        let now = t("2026-11-22T08:00:00Z");
        let ok = [
            ("0", 0),
            ("120", 120),
            (" 7\t", 7),
            ("007", 7),
            ("99999999999999999999999", u64::MAX),
        ];
        for (input, secs) in ok {
            assert_eq!(
                RetryAfter::parse(input, now),
                Ok(RetryAfter::Seconds(secs)),
                "{input:?}"
            );
        }
        assert_eq!(
            RetryAfter::Seconds(120).not_before(now),
            t("2026-11-22T08:02:00Z")
        );
        assert_eq!(
            RetryAfter::Seconds(u64::MAX).not_before(now),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn retry_after_imf_fixdate() {
        let now = t("2026-11-22T08:00:00Z");
        let cases = [
            ("Sun, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z"),
            ("Sun, 22 Nov 2026 08:05:00 GMT", "2026-11-22T08:05:00Z"),
            ("Tue, 29 Feb 2028 23:59:59 GMT", "2028-02-29T23:59:59Z"),
            ("Sat, 31 Dec 2016 23:59:60 GMT", "2017-01-01T00:00:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                RetryAfter::parse(input, now),
                Ok(RetryAfter::Date(t(expected))),
                "{input}"
            );
        }
        // A date in the past means "now": the floor is simply behind us.
        let past = RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT", now).unwrap();
        assert!(past.not_before(now) < now);
    }

    #[test]
    fn retry_after_obsolete_date_forms_are_understood() {
        let now = t("2026-11-22T08:00:00Z");
        let cases = [
            ("Sunday, 06-Nov-94 08:49:37 GMT", "1994-11-06T08:49:37Z"),
            ("Sunday, 22-Nov-26 08:05:00 GMT", "2026-11-22T08:05:00Z"),
            // 2076 is 50 years ahead, not more: it stays in this century.
            ("Sunday, 01-Nov-76 00:00:00 GMT", "2076-11-01T00:00:00Z"),
            ("Sun Nov  6 08:49:37 1994", "1994-11-06T08:49:37Z"),
            ("Sun Nov 22 08:05:00 2026", "2026-11-22T08:05:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                RetryAfter::parse(input, now),
                Ok(RetryAfter::Date(t(expected))),
                "{input}"
            );
        }
        // 2077 would be more than 50 years ahead: it is 1977.
        assert_eq!(
            RetryAfter::parse("Tuesday, 01-Nov-77 00:00:00 GMT", now),
            Ok(RetryAfter::Date(t("1977-11-01T00:00:00Z")))
        );
    }

    #[test]
    fn retry_after_invalid_values_are_refused_with_a_reason() {
        use RetryAfterError::*;
        let now = t("2026-11-22T08:00:00Z");
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("-5", Malformed),
            ("+5", Malformed),
            ("1.5", Malformed),
            ("1e3", Malformed),
            ("５", Malformed),
            ("soon", Malformed),
            ("Sun, 06 Nov 1994 08:49:37 UTC", Malformed),
            ("sun, 06 Nov 1994 08:49:37 GMT", Malformed),
            ("Sun, 06 nov 1994 08:49:37 GMT", Malformed),
            ("Sun, 6 Nov 1994 08:49:37 GMT", Malformed),
            ("Sun, 06 Nov 94 08:49:37 GMT", Malformed),
            ("Sun, 06 Nov 1994 8:49:37 GMT", Malformed),
            ("Sun, 06 Nov 1994 08:49 GMT", Malformed),
            ("Sun,  06 Nov 1994 08:49:37 GMT", Malformed),
            ("Sun, 06 Nov 1994 08:49:37 GMT extra", Malformed),
            ("Sun, 06-Nov-94 08:49:37 GMT", Malformed),
            ("Sunday, 06 Nov 1994 08:49:37 GMT", Malformed),
            ("Sun Nov 6 08:49:37 1994", Malformed),
            ("Sun Nov  6 08:49:37 94", Malformed),
            ("1994-11-06T08:49:37Z", Malformed),
            (
                "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
                Malformed,
            ),
            ("Tue, 30 Feb 2027 08:00:00 GMT", NoSuchDate),
            ("Sun, 06 Nov 1994 24:00:00 GMT", NoSuchDate),
            ("Sun, 06 Nov 1994 08:60:00 GMT", NoSuchDate),
            ("Sun, 00 Nov 1994 08:00:00 GMT", NoSuchDate),
            ("Mon, 06 Nov 1994 08:49:37 GMT", WrongWeekday),
            ("Monday, 06-Nov-94 08:49:37 GMT", WrongWeekday),
            ("Mon Nov  6 08:49:37 1994", WrongWeekday),
        ];
        for (input, expected) in cases {
            assert_eq!(RetryAfter::parse(input, now), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn policy_and_tries_survive_storage() {
        let p = RetryPolicy::default();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<RetryPolicy>(&json).unwrap(), p);
        let tries = Tries::new(t("2026-11-22T08:00:00Z"));
        let json = serde_json::to_string(&tries).unwrap();
        assert_eq!(serde_json::from_str::<Tries>(&json).unwrap(), tries);
        assert!(serde_json::from_str::<RetryPolicy>(r#"{"base_ms":-1}"#).is_err());
    }
}
