//! Hospital-local time. Every time shown to a patient is in the hospital's own UTC offset, never the
//! device's: a relative in Los Angeles booking for a parent in Hangzhou must see Hangzhou times.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Timelike, Utc, Weekday};

/// The hospital's offset; falls back to UTC for an out-of-range value rather than panicking.
pub fn offset(minutes: i32) -> FixedOffset {
    FixedOffset::east_opt(minutes * 60).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"))
}

/// An instant expressed in the hospital's time.
pub fn at_hospital(instant: DateTime<FixedOffset>, offset_minutes: i32) -> DateTime<FixedOffset> {
    instant.with_timezone(&offset(offset_minutes))
}

/// The calendar day at the hospital at instant `now`.
pub fn hospital_today(now: DateTime<Utc>, offset_minutes: i32) -> NaiveDate {
    now.with_timezone(&offset(offset_minutes)).date_naive()
}

/// `HH:MM` of an instant in the hospital's time.
pub fn hhmm(instant: DateTime<FixedOffset>, offset_minutes: i32) -> String {
    let t = at_hospital(instant, offset_minutes);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `days` consecutive dates starting at `from`.
pub fn date_range(from: NaiveDate, days: u32) -> impl Iterator<Item = NaiveDate> {
    (0..i64::from(days)).map(move |i| from + Duration::days(i))
}

/// Monday = 0 … Sunday = 6, for indexing weekday names.
pub fn weekday_index(date: NaiveDate) -> usize {
    date.weekday().num_days_from_monday() as usize
}

pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    ymd(&s[0..4], &s[5..7], &s[8..10])
}

/// A date from its decimal year, month and day fields; `None` unless all are digits and the date
/// exists. Hand-written because chrono's format-string parser is large in WebAssembly.
pub fn ymd(year: &str, month: &str, day: &str) -> Option<NaiveDate> {
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    NaiveDate::from_ymd_opt(i32::try_from(num(year)?).ok()?, num(month)?, num(day)?)
}

/// `+08:00` for an offset in minutes.
pub fn utc_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// `11/23`: month and day without the year, for compact day labels.
pub fn month_day(date: NaiveDate) -> String {
    format!("{}/{}", date.month(), date.day())
}

/// Whole seconds left until `deadline`, given the server's clock at a known device instant.
///
/// `server_time` is what the server said "now" was when it answered and `device_then` is the device
/// clock at that moment; `device_now` is the device clock now. Only device-clock differences are
/// used, so a device clock that is hours wrong still counts down correctly.
pub fn seconds_left(
    deadline: DateTime<FixedOffset>,
    server_time: DateTime<FixedOffset>,
    device_then_ms: f64,
    device_now_ms: f64,
) -> i64 {
    let elapsed_ms = (device_now_ms - device_then_ms).max(0.0) as i64;
    let server_now = server_time + Duration::milliseconds(elapsed_ms);
    (deadline - server_now).num_seconds().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn today_follows_the_hospital_not_utc() {
        // 17:30 UTC on the 22nd is already the 23rd in China (+08:00) but still the 22nd in LA.
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 17, 30, 0).unwrap();
        assert_eq!(
            hospital_today(now, 480),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        assert_eq!(
            hospital_today(now, -480),
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
        );
    }

    #[test]
    fn times_render_in_hospital_offset_whatever_the_wire_offset() {
        let utc: DateTime<FixedOffset> = "2026-11-23T00:30:00Z".parse().unwrap();
        assert_eq!(hhmm(utc, 480), "08:30");
        let la: DateTime<FixedOffset> = "2026-11-22T16:30:00-08:00".parse().unwrap();
        assert_eq!(hhmm(la, 480), "08:30");
        assert_eq!(hhmm(la, 330), "06:00"); // India, half-hour offset
    }

    #[test]
    fn bad_offset_falls_back_to_utc() {
        assert_eq!(offset(100_000).local_minus_utc(), 0);
    }

    #[test]
    fn countdown_ignores_a_wrong_device_clock() {
        let server: DateTime<FixedOffset> = "2026-11-22T10:00:00+08:00".parse().unwrap();
        let deadline = server + Duration::minutes(5);
        // Device clock is a day off; only the 30 s that passed on it matter.
        let then = 1_000_000_000.0;
        assert_eq!(seconds_left(deadline, server, then, then + 30_000.0), 270);
        assert_eq!(seconds_left(deadline, server, then, then + 600_000.0), 0);
        // A clock that jumped backwards does not add time.
        assert_eq!(seconds_left(deadline, server, then, then - 5_000.0), 300);
    }

    #[test]
    fn ranges_and_weekdays() {
        let from = NaiveDate::from_ymd_opt(2026, 12, 28).unwrap();
        let days: Vec<_> = date_range(from, 5).collect();
        assert_eq!(
            days.last().unwrap(),
            &NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        assert_eq!(weekday_index(from), 0);
        assert!(is_weekend(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(
            parse_date("2026-02-28"),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
        assert_eq!(parse_date("2026-2-28"), None);
        assert_eq!(parse_date("+026-02-28"), None);
        assert_eq!(month_day(from), "12/28");
        assert_eq!(utc_offset(480), "+08:00");
        assert_eq!(utc_offset(-210), "-03:30");
    }
}
