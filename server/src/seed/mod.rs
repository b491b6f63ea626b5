//! Deterministic demo data: four Hangzhou hospitals, two-level department trees, about a hundred
//! doctors and a rolling two-week schedule.
//!
//! Everything is derived from ids with a seeded PRNG, so a given doctor on a given date always has
//! the same sessions, whichever day the data was generated on. The schedule window moves with the
//! calendar: [`ensure`] adds the missing days and never touches sessions that exist, so bookings
//! survive.
//!
//! Facts end-to-end tests may rely on (dates in hospital time, `T` = today):
//! - `h1-cardio` (心血管内科, West Lake People's Hospital) has six doctors:
//!   `h1-cardio-1` sees patients every morning and every session is full;
//!   `h1-cardio-2` is on leave: every afternoon session is stopped (停诊);
//!   `h1-cardio-3` … `h1-cardio-6` work every morning and afternoon with nothing booked in advance
//!   (`-3`: 15-minute slots of capacity 1, `-4`: 30 min × 2, `-5`: 30 min × 3 plus an evening
//!   session every day, `-6`: 15 min × 2).
//! - Places for day `D` are released at 15:00 on `D - 12`, so sessions on `T + 13` are always
//!   not released yet, and those on `T + 12` until 15:00 today.

mod tables;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};
use fairslot_core::time::{date_range, hospital_today, offset, weekday_index};
use fairslot_core::{
    Department, DepartmentGroup, District, Doctor, DoctorTitle, Hospital, Period, Session,
    SessionStatus, Slot, Text,
};

use crate::random::SplitMix64;
use crate::store::{CatalogueHospital, NewSession, Store, StoreResult};
use tables::{
    DEPARTMENTS, DepartmentKind, GIVEN_NAMES, GROUPS, HOSPITALS, LARGE, LARGE_DOCTORS, SURNAMES,
};

/// All demo hospitals are in Hangzhou (UTC+08:00).
pub const UTC_OFFSET_MINUTES: i32 = 480;
/// Days of schedule kept ahead, today included.
pub const SCHEDULE_DAYS: u32 = 14;
/// Places for a day are released this many days ahead …
pub const RELEASE_DAYS_AHEAD: i64 = 12;
/// … at this local time (minutes after midnight): 15:00.
pub const RELEASE_MINUTE_OF_DAY: u32 = 15 * 60;

/// How a doctor's sessions behave beyond their weekly pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// Some sessions stopped, some already booked elsewhere, some full.
    Usual,
    /// A sought-after expert: every place is always taken.
    AlwaysFull,
    /// On leave for the whole window: every session is stopped.
    OnLeave,
    /// Nothing stopped or booked in advance, so tests always find free places.
    Quiet,
}

/// Everything needed to generate one doctor's sessions for any date.
#[derive(Debug, Clone)]
struct DoctorPlan {
    hospital_id: String,
    department_id: String,
    doctor_id: String,
    fee_fen: u32,
    slot_minutes: u32,
    capacity: u32,
    /// Monday-first; each day AM, PM, evening.
    week: [[bool; 3]; 7],
    /// Afternoon clinic window in minutes after midnight.
    pm_window: (u32, u32),
    profile: Profile,
}

/// The demo catalogue and the plans that generate its schedules.
#[derive(Debug, Clone)]
pub struct Demo {
    hospitals: Vec<CatalogueHospital>,
    plans: Vec<DoctorPlan>,
}

impl Demo {
    /// Builds the catalogue; `large` adds the benchmark department `h1-large`.
    pub fn new(large: bool) -> Self {
        let mut names = NamePicker::default();
        let mut hospitals = Vec::new();
        let mut plans = Vec::new();
        for seed in HOSPITALS {
            let hospital = Hospital {
                id: seed.id.into(),
                name: Text::new(seed.zh, seed.en),
                level: Some(seed.level),
                district: District {
                    id: seed.district.0.into(),
                    name: Text::new(seed.district.1, seed.district.2),
                },
                address: Text::new(seed.address.0, seed.address.1),
                phone: seed.phone.into(),
                utc_offset_minutes: UTC_OFFSET_MINUTES,
                has_slots_today: None,
            };
            let mut departments: Vec<(&DepartmentKind, usize)> = seed
                .departments
                .iter()
                .filter_map(|(slug, n)| {
                    DEPARTMENTS
                        .iter()
                        .find(|k| k.slug == *slug)
                        .map(|k| (k, *n))
                })
                .collect();
            if large && seed.id == "h1" {
                departments.insert(0, (&LARGE, LARGE_DOCTORS));
            }
            let mut groups: Vec<DepartmentGroup> = Vec::new();
            let mut doctors = Vec::new();
            for (kind, count) in departments {
                let department_id = format!("{}-{}", seed.id, kind.slug);
                let group_id = format!("{}-{}", seed.id, kind.group);
                let department = Department {
                    id: department_id.clone(),
                    name: Text::new(kind.zh, kind.en),
                    description: kind.description.map(|(zh, en)| Text::new(zh, en)),
                };
                match groups.iter_mut().find(|g| g.id == group_id) {
                    Some(g) => g.departments.push(department),
                    None => {
                        let group = GROUPS.iter().find(|g| g.slug == kind.group);
                        groups.push(DepartmentGroup {
                            id: group_id,
                            name: group.map_or_else(
                                || Text::new(kind.zh, kind.en),
                                |g| Text::new(g.zh, g.en),
                            ),
                            departments: vec![department],
                        });
                    }
                }
                for index in 1..=count {
                    let doctor = make_doctor(&hospital.id, &department_id, kind, index, &mut names);
                    plans.push(plan_for(&doctor, kind, index));
                    doctors.push(doctor);
                }
            }
            hospitals.push(CatalogueHospital {
                hospital,
                groups,
                doctors,
            });
        }
        Self { hospitals, plans }
    }

    pub fn catalogue(&self) -> &[CatalogueHospital] {
        &self.hospitals
    }

    /// Every session of one hospital on the given dates.
    pub fn sessions(&self, hospital_id: &str, dates: &[NaiveDate]) -> Vec<NewSession> {
        let tz = offset(
            self.hospitals
                .iter()
                .find(|h| h.hospital.id == hospital_id)
                .map_or(UTC_OFFSET_MINUTES, |h| h.hospital.utc_offset_minutes),
        );
        self.plans
            .iter()
            .filter(|p| p.hospital_id == hospital_id)
            .flat_map(|plan| {
                dates.iter().flat_map(move |&date| {
                    Period::ALL
                        .into_iter()
                        .filter_map(move |period| session(plan, date, period, tz))
                })
            })
            .collect()
    }
}

/// Installs the catalogue (once) and the sessions of today and the next days for every hospital.
/// Returns how many sessions were new.
pub fn ensure(store: &dyn Store, demo: &Demo, now: DateTime<Utc>) -> StoreResult<usize> {
    store.install_catalogue(demo.catalogue())?;
    let mut added = 0;
    for entry in demo.catalogue() {
        let today = hospital_today(now, entry.hospital.utc_offset_minutes);
        let sessions = demo.sessions(
            &entry.hospital.id,
            &date_range(today, SCHEDULE_DAYS).collect::<Vec<_>>(),
        );
        added += store.add_sessions(&sessions, now)?;
    }
    Ok(added)
}

const TITLES: [DoctorTitle; 6] = [
    DoctorTitle::Chief,
    DoctorTitle::AssociateChief,
    DoctorTitle::Attending,
    DoctorTitle::AssociateChief,
    DoctorTitle::Attending,
    DoctorTitle::Resident,
];

/// Registration fee (挂号费) by title, in fen.
fn fee(title: DoctorTitle) -> u32 {
    match title {
        DoctorTitle::Chief => 5000,
        DoctorTitle::AssociateChief => 3000,
        DoctorTitle::Attending => 1500,
        DoctorTitle::Resident => 1000,
    }
}

fn make_doctor(
    hospital_id: &str,
    department_id: &str,
    kind: &DepartmentKind,
    index: usize,
    names: &mut NamePicker,
) -> Doctor {
    let id = format!("{department_id}-{index}");
    let title = TITLES[(index - 1) % TITLES.len()];
    let specialty = kind.specialties[(index - 1) % kind.specialties.len()];
    Doctor {
        name: names.pick(&id),
        id,
        hospital_id: hospital_id.into(),
        department_id: department_id.into(),
        title: Some(title),
        specialty: Text::new(specialty.0, specialty.1),
        fee_fen: Some(fee(title)),
        photo_url: None,
    }
}

/// Picks realistic names, never the same one twice in the demo.
#[derive(Default)]
struct NamePicker {
    used: std::collections::HashSet<(usize, usize)>,
}

impl NamePicker {
    fn pick(&mut self, key: &str) -> Text {
        let mut rng = SplitMix64::keyed(key);
        loop {
            let pair = (rng.below(SURNAMES.len()), rng.below(GIVEN_NAMES.len()));
            if self.used.insert(pair) {
                let (s, g) = (SURNAMES[pair.0], GIVEN_NAMES[pair.1]);
                return Text::new(format!("{}{}", s.0, g.0), format!("{} {}", s.1, g.1));
            }
        }
    }
}

const AM: usize = 0;
const PM: usize = 1;
const EVENING: usize = 2;

fn plan_for(doctor: &Doctor, kind: &DepartmentKind, index: usize) -> DoctorPlan {
    let mut rng = SplitMix64::keyed(&format!("plan:{}", doctor.id));
    let mut plan = DoctorPlan {
        hospital_id: doctor.hospital_id.clone(),
        department_id: doctor.department_id.clone(),
        doctor_id: doctor.id.clone(),
        fee_fen: doctor.fee_fen.unwrap_or(0),
        slot_minutes: if rng.chance(0.5) { 15 } else { 30 },
        capacity: 1,
        week: [[false; 3]; 7],
        pm_window: (13 * 60 + 30, 17 * 60),
        profile: Profile::Usual,
    };
    plan.capacity = 1 + rng.below(if plan.slot_minutes == 15 { 2 } else { 3 }) as u32;

    if doctor.department_id == "h1-cardio" {
        let every_day = |periods: &[usize]| {
            let mut day = [false; 3];
            for p in periods {
                day[*p] = true;
            }
            [day; 7]
        };
        let (week, profile, minutes, capacity) = match index {
            1 => (every_day(&[AM]), Profile::AlwaysFull, 15, 1),
            2 => (every_day(&[PM]), Profile::OnLeave, 30, 2),
            3 => (every_day(&[AM, PM]), Profile::Quiet, 15, 1),
            4 => (every_day(&[AM, PM]), Profile::Quiet, 30, 2),
            5 => (every_day(&[AM, PM, EVENING]), Profile::Quiet, 30, 3),
            _ => (every_day(&[AM, PM]), Profile::Quiet, 15, 2),
        };
        plan.week = week;
        plan.profile = profile;
        plan.slot_minutes = minutes;
        plan.capacity = capacity;
        return plan;
    }

    if kind.slug == LARGE.slug {
        // 20 slots of 12 minutes each morning and afternoon: 40 a day.
        plan.week = [[true, true, false]; 7];
        plan.slot_minutes = 12;
        plan.capacity = 1;
        plan.pm_window = (13 * 60, 17 * 60);
        return plan;
    }

    for (weekday, day) in plan.week.iter_mut().enumerate() {
        match weekday {
            0..=4 => {
                day[AM] = rng.chance(0.55);
                day[PM] = rng.chance(0.4);
                day[EVENING] = kind.evenings && rng.chance(0.2);
            }
            5 => day[AM] = rng.chance(if kind.weekends { 0.5 } else { 0.15 }),
            _ => day[AM] = rng.chance(if kind.weekends { 0.35 } else { 0.05 }),
        }
    }
    let sessions_a_week = plan.week.iter().flatten().filter(|on| **on).count();
    if sessions_a_week < 3 {
        plan.week[1][AM] = true;
        plan.week[3][PM] = true;
        plan.week[4][AM] = true;
    }
    plan
}

fn period_slug(period: Period) -> &'static str {
    match period {
        Period::Am => "am",
        Period::Pm => "pm",
        Period::Evening => "evening",
    }
}

/// One session of a doctor on a date, if their week has it.
fn session(
    plan: &DoctorPlan,
    date: NaiveDate,
    period: Period,
    tz: FixedOffset,
) -> Option<NewSession> {
    let (slot_index, window) = match period {
        Period::Am => (AM, (8 * 60, 12 * 60)),
        Period::Pm => (PM, plan.pm_window),
        Period::Evening => (EVENING, (18 * 60, 20 * 60 + 30)),
    };
    if !plan.week[weekday_index(date)][slot_index] {
        return None;
    }
    let id = format!("{}-{}-{}", plan.doctor_id, date, period_slug(period));
    let mut rng = SplitMix64::keyed(&id);
    let stopped = match plan.profile {
        Profile::OnLeave => true,
        Profile::Usual => rng.chance(0.04),
        Profile::AlwaysFull | Profile::Quiet => false,
    };
    let full =
        plan.profile == Profile::AlwaysFull || (plan.profile == Profile::Usual && rng.chance(0.10));
    let mut slots = Vec::new();
    let mut minute = window.0;
    while minute + plan.slot_minutes <= window.1 {
        let remaining = if full {
            0
        } else if plan.profile == Profile::Usual && rng.chance(0.3) {
            // Places already taken at the hospital window or through other channels.
            plan.capacity - 1 - rng.below(plan.capacity as usize) as u32
        } else {
            plan.capacity
        };
        slots.push(Slot {
            id: format!("{id}-{:02}{:02}", minute / 60, minute % 60),
            start: local(date, minute, tz),
            end: local(date, minute + plan.slot_minutes, tz),
            capacity: plan.capacity,
            remaining,
        });
        minute += plan.slot_minutes;
    }
    let release_day = date - Duration::days(RELEASE_DAYS_AHEAD);
    Some(NewSession {
        hospital_id: plan.hospital_id.clone(),
        session: Session {
            id,
            doctor_id: plan.doctor_id.clone(),
            department_id: plan.department_id.clone(),
            date,
            period,
            status: if stopped {
                SessionStatus::Stopped
            } else {
                SessionStatus::Open
            },
            release_at: Some(local(release_day, RELEASE_MINUTE_OF_DAY, tz)),
            fee_fen: Some(plan.fee_fen),
            slots,
        },
    })
}

/// The instant `minute_of_day` minutes after local midnight of `date` in `tz`.
fn local(date: NaiveDate, minute_of_day: u32, tz: FixedOffset) -> DateTime<FixedOffset> {
    let naive = date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minute_of_day));
    let utc = naive - Duration::seconds(i64::from(tz.local_minus_utc()));
    DateTime::from_naive_utc_and_offset(utc, tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn days(from: &str, n: u32) -> Vec<NaiveDate> {
        date_range(date(from), n).collect()
    }

    #[test]
    fn catalogue_is_big_enough_and_ids_are_unique() {
        let demo = Demo::new(false);
        assert!(demo.catalogue().len() >= 4);
        let doctors: Vec<_> = demo.catalogue().iter().flat_map(|h| &h.doctors).collect();
        assert!(doctors.len() >= 60, "{}", doctors.len());
        let ids: HashSet<_> = doctors.iter().map(|d| &d.id).collect();
        assert_eq!(ids.len(), doctors.len());
        let names: HashSet<_> = doctors.iter().map(|d| &d.name.zh).collect();
        assert_eq!(names.len(), doctors.len());
        for h in demo.catalogue() {
            let departments: usize = h.groups.iter().map(|g| g.departments.len()).sum();
            assert!(departments >= 8, "{} has {departments}", h.hospital.id);
        }
    }

    #[test]
    fn the_same_date_always_gives_the_same_sessions() {
        let a = Demo::new(false).sessions("h2", &days("2026-11-23", 3));
        let b = Demo::new(false).sessions("h2", &days("2026-11-24", 1));
        let day2: Vec<_> = a
            .iter()
            .filter(|s| s.session.date == date("2026-11-24"))
            .collect();
        assert_eq!(day2.len(), b.len());
        for (x, y) in day2.iter().zip(&b) {
            assert_eq!(x.session, y.session);
        }
    }

    #[test]
    fn sessions_have_local_times_and_release_before_the_day() {
        let sessions = Demo::new(false).sessions("h1", &days("2026-11-23", 1));
        let s = sessions
            .iter()
            .find(|s| s.session.id == "h1-cardio-3-2026-11-23-am")
            .expect("h1-cardio-3 works every morning");
        assert_eq!(s.session.slots.len(), 16);
        assert_eq!(s.session.slots[0].id, "h1-cardio-3-2026-11-23-am-0800");
        assert_eq!(
            s.session.slots[0].start.to_rfc3339(),
            "2026-11-23T08:00:00+08:00"
        );
        assert_eq!(
            s.session.release_at.unwrap().to_rfc3339(),
            "2026-11-11T15:00:00+08:00"
        );
        assert!(sessions.iter().any(|s| s.session.period == Period::Evening));
    }

    #[test]
    fn large_department_has_sixty_doctors_with_forty_slots_a_day() {
        let demo = Demo::new(true);
        let h1 = &demo.catalogue()[0];
        assert_eq!(
            h1.doctors
                .iter()
                .filter(|d| d.department_id == "h1-large")
                .count(),
            60
        );
        let sessions = demo.sessions("h1", &days("2026-11-23", 1));
        let slots: usize = sessions
            .iter()
            .filter(|s| s.session.department_id == "h1-large")
            .map(|s| s.session.slots.len())
            .sum();
        assert_eq!(slots, 60 * 40);
    }
}
