//! Schedule grouping: from a flat list of sessions to what a patient scans — a day strip with a
//! summary per day, and the sessions of one day ordered by period and doctor.

use chrono::{DateTime, FixedOffset, NaiveDate};
use std::collections::BTreeMap;

use crate::contract::{Period, Session, SessionStatus};
use crate::time::date_range;

/// What a session means to a patient right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// Bookable, with this many places left.
    Open(u32),
    Full,
    /// 停诊
    Stopped,
    /// Not released yet; opens at the given instant.
    NotReleased(Option<DateTime<FixedOffset>>),
}

impl Availability {
    pub fn is_bookable(self) -> bool {
        matches!(self, Self::Open(_))
    }

    /// Orders states from most to least useful, for summarising a day.
    fn rank(self) -> u8 {
        match self {
            Self::Open(_) => 0,
            Self::NotReleased(_) => 1,
            Self::Full => 2,
            Self::Stopped => 3,
        }
    }
}

/// A session's availability: the server's status, corrected by counts and by slots already past.
pub fn availability(session: &Session, now: DateTime<FixedOffset>) -> Availability {
    match session.status {
        SessionStatus::Stopped => Availability::Stopped,
        SessionStatus::NotReleased => Availability::NotReleased(session.release_at),
        SessionStatus::Full => Availability::Full,
        SessionStatus::Open => {
            let left: u32 = session
                .slots
                .iter()
                .filter(|s| s.start > now)
                .map(|s| s.remaining)
                .sum();
            if left == 0 {
                Availability::Full
            } else {
                Availability::Open(left)
            }
        }
    }
}

/// One day of the day strip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySummary {
    pub date: NaiveDate,
    /// The best state among the day's sessions; `None` when nobody works that day.
    pub availability: Option<Availability>,
}

impl DaySummary {
    pub fn remaining(&self) -> u32 {
        match self.availability {
            Some(Availability::Open(n)) => n,
            _ => 0,
        }
    }
}

/// Sessions indexed by day, built once per schedule so each tap is a lookup, not a scan.
#[derive(Debug, Clone, Default)]
pub struct ScheduleIndex {
    by_day: BTreeMap<NaiveDate, Vec<usize>>,
}

impl ScheduleIndex {
    pub fn new(sessions: &[Session]) -> Self {
        let mut by_day: BTreeMap<NaiveDate, Vec<usize>> = BTreeMap::new();
        for (i, s) in sessions.iter().enumerate() {
            by_day.entry(s.date).or_default().push(i);
        }
        for indices in by_day.values_mut() {
            indices.sort_by(|&a, &b| {
                let (a, b) = (&sessions[a], &sessions[b]);
                (a.period, &a.doctor_id).cmp(&(b.period, &b.doctor_id))
            });
        }
        Self { by_day }
    }

    /// The sessions of one day, by period then doctor.
    pub fn day<'a>(
        &'a self,
        sessions: &'a [Session],
        date: NaiveDate,
    ) -> impl Iterator<Item = &'a Session> + 'a {
        self.by_day
            .get(&date)
            .into_iter()
            .flatten()
            .map(move |&i| &sessions[i])
    }

    /// One summary per day from `from`, `days` long, optionally for one doctor only.
    pub fn strip(
        &self,
        sessions: &[Session],
        from: NaiveDate,
        days: u32,
        doctor: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Vec<DaySummary> {
        date_range(from, days)
            .map(|date| {
                let availability = self
                    .day(sessions, date)
                    .filter(|s| doctor.is_none_or(|d| s.doctor_id == d))
                    .map(|s| availability(s, now))
                    .reduce(merge);
                DaySummary { date, availability }
            })
            .collect()
    }
}

/// Combines two sessions' states: open counts add up; otherwise the more useful state wins.
fn merge(a: Availability, b: Availability) -> Availability {
    match (a, b) {
        (Availability::Open(x), Availability::Open(y)) => Availability::Open(x + y),
        _ if a.rank() <= b.rank() => a,
        _ => b,
    }
}

/// The periods that have at least one session, in order, so empty rows are not drawn.
pub fn periods_present<'a>(sessions: impl IntoIterator<Item = &'a Session>) -> Vec<Period> {
    let mut present: Vec<Period> = sessions.into_iter().map(|s| s.period).collect();
    present.sort();
    present.dedup();
    present
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Slot;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<FixedOffset> {
        s.parse().unwrap()
    }

    fn session(
        doctor: &str,
        date: &str,
        period: Period,
        status: SessionStatus,
        remaining: &[u32],
    ) -> Session {
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        let base = at(&format!("{date}T08:00:00+08:00"));
        Session {
            id: format!("{doctor}-{date}-{period:?}"),
            doctor_id: doctor.into(),
            department_id: "dep".into(),
            date,
            period,
            status,
            release_at: None,
            fee_fen: Some(1000),
            slots: remaining
                .iter()
                .enumerate()
                .map(|(i, &r)| Slot {
                    id: format!("{i}"),
                    start: base + Duration::minutes(30 * i as i64),
                    end: base + Duration::minutes(30 * i as i64 + 30),
                    capacity: 3,
                    remaining: r,
                })
                .collect(),
        }
    }

    #[test]
    fn open_session_with_no_places_left_reads_as_full() {
        let now = at("2026-11-22T00:00:00+08:00");
        let s = session("d1", "2026-11-23", Period::Am, SessionStatus::Open, &[0, 0]);
        assert_eq!(availability(&s, now), Availability::Full);
    }

    #[test]
    fn slots_already_started_do_not_count() {
        let s = session("d1", "2026-11-23", Period::Am, SessionStatus::Open, &[2, 1]);
        assert_eq!(
            availability(&s, at("2026-11-23T07:00:00+08:00")),
            Availability::Open(3)
        );
        // 08:10: the 08:00 slot has begun, the 08:30 one is still ahead.
        assert_eq!(
            availability(&s, at("2026-11-23T08:10:00+08:00")),
            Availability::Open(1)
        );
        assert_eq!(
            availability(&s, at("2026-11-23T09:00:00+08:00")),
            Availability::Full
        );
    }

    #[test]
    fn day_strip_sums_open_days_and_keeps_the_best_state_otherwise() {
        let sessions = vec![
            session("d1", "2026-11-23", Period::Am, SessionStatus::Open, &[2]),
            session("d2", "2026-11-23", Period::Pm, SessionStatus::Open, &[3]),
            session("d1", "2026-11-24", Period::Am, SessionStatus::Stopped, &[]),
            session("d2", "2026-11-24", Period::Am, SessionStatus::Full, &[0]),
            session(
                "d1",
                "2026-11-25",
                Period::Am,
                SessionStatus::NotReleased,
                &[3],
            ),
            session("d2", "2026-11-25", Period::Am, SessionStatus::Stopped, &[]),
        ];
        let index = ScheduleIndex::new(&sessions);
        let from = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let now = at("2026-11-22T12:00:00+08:00");
        let strip = index.strip(&sessions, from, 4, None, now);
        let got: Vec<_> = strip.iter().map(|d| d.availability).collect();
        assert_eq!(
            got,
            [
                Some(Availability::Open(5)),
                Some(Availability::Full),
                Some(Availability::NotReleased(None)),
                None
            ]
        );
        let d1 = index.strip(&sessions, from, 2, Some("d1"), now);
        assert_eq!(d1[0].remaining(), 2);
        assert_eq!(d1[1].availability, Some(Availability::Stopped));
    }

    #[test]
    fn a_day_lists_sessions_by_period_then_doctor() {
        let sessions = vec![
            session("d2", "2026-11-23", Period::Pm, SessionStatus::Open, &[1]),
            session("d2", "2026-11-23", Period::Am, SessionStatus::Open, &[1]),
            session("d1", "2026-11-23", Period::Pm, SessionStatus::Open, &[1]),
        ];
        let index = ScheduleIndex::new(&sessions);
        let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let order: Vec<_> = index
            .day(&sessions, date)
            .map(|s| (s.period, s.doctor_id.as_str()))
            .collect();
        assert_eq!(
            order,
            [(Period::Am, "d2"), (Period::Pm, "d1"), (Period::Pm, "d2")]
        );
        assert_eq!(
            periods_present(index.day(&sessions, date)),
            [Period::Am, Period::Pm]
        );
        assert_eq!(index.day(&sessions, date.succ_opt().unwrap()).count(), 0);
    }
}
