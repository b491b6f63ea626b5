//! Every page's address in one place: the pattern the router matches ([`patterns`], used by
//! `app.rs`) and the builder every link uses, side by side and tested against each other, so a
//! link cannot lead to a route that does not exist. Ids are percent-encoded as path segments.

use fairslot_core::encode_component as enc;

/// The hospital list, the first screen.
pub const HOME: &str = "/";
/// The device's bookings and lookup by code.
pub const MY_BOOKINGS: &str = "/bookings";
/// The open ledger, checked on the device.
pub const LEDGER: &str = "/ledger";

/// A hospital's departments.
pub fn hospital(hospital: &str) -> String {
    format!("/hospitals/{}", enc(hospital))
}

/// A booking's ticket.
pub fn booking(code: &str) -> String {
    format!("{MY_BOOKINGS}/{}", enc(code))
}

/// A department of a hospital, and the pages under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub hospital: String,
    pub department: String,
}

impl Department {
    pub fn new(hospital: &str, department: &str) -> Self {
        Self {
            hospital: hospital.to_string(),
            department: department.to_string(),
        }
    }

    /// The department's doctors.
    pub fn href(&self) -> String {
        format!(
            "{}/departments/{}",
            hospital(&self.hospital),
            enc(&self.department)
        )
    }

    /// The whole department's schedule.
    pub fn schedule(&self) -> String {
        format!("{}/schedule", self.href())
    }

    /// A doctor's schedule.
    pub fn doctor(&self, doctor: &str) -> String {
        format!("{}/doctors/{}", self.href(), enc(doctor))
    }

    /// A doctor's schedule opened at a day.
    pub fn doctor_on(&self, doctor: &str, day: chrono::NaiveDate) -> String {
        format!("{}?day={day}", self.doctor(doctor))
    }

    /// Booking a slot of a doctor.
    pub fn book(&self, doctor: &str, slot: &str) -> String {
        format!("{}/book/{}", self.doctor(doctor), enc(slot))
    }
}

/// The router's patterns, one per page; `app.rs` routes each to its view.
pub mod patterns {
    use leptos_router::{PossibleRouteMatch, path};

    /// What a pattern is to the router.
    pub trait Pattern:
        PossibleRouteMatch + Clone + Send + Sync + std::fmt::Debug + 'static
    {
    }
    impl<T: PossibleRouteMatch + Clone + Send + Sync + std::fmt::Debug + 'static> Pattern for T {}

    pub fn home() -> impl Pattern {
        path!("")
    }
    pub fn hospital() -> impl Pattern {
        path!("/hospitals/:hospital")
    }
    pub fn department() -> impl Pattern {
        path!("/hospitals/:hospital/departments/:department")
    }
    pub fn department_schedule() -> impl Pattern {
        path!("/hospitals/:hospital/departments/:department/schedule")
    }
    pub fn doctor() -> impl Pattern {
        path!("/hospitals/:hospital/departments/:department/doctors/:doctor")
    }
    pub fn book() -> impl Pattern {
        path!("/hospitals/:hospital/departments/:department/doctors/:doctor/book/:slot")
    }
    pub fn my_bookings() -> impl Pattern {
        path!("/bookings")
    }
    pub fn booking() -> impl Pattern {
        path!("/bookings/:code")
    }
    pub fn ledger() -> impl Pattern {
        path!("/ledger")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos_router::PossibleRouteMatch;

    /// The params a pattern reads from the whole of `path`, or `None` when it does not match it.
    fn matched(pattern: impl PossibleRouteMatch, path: &str) -> Option<Vec<(String, String)>> {
        let path = path.split('?').next().unwrap_or_default();
        let m = pattern.test(path)?;
        m.is_complete().then(|| {
            m.params()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        })
    }

    fn params(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(pairs.iter().map(|(k, v)| (k.to_string(), enc(v))).collect())
    }

    #[test]
    fn every_link_reaches_its_page_with_its_ids() {
        // Ids with what a path must not carry raw: a slash, a question mark, a space, Chinese.
        let (h, d, doc, slot, code) = ("h/1", "内 科?", "doc 1", "s/2?x", "K7Q4 M2XP");
        let at = Department::new(h, d);
        assert_eq!(matched(patterns::home(), HOME), Some(vec![]));
        assert_eq!(
            matched(patterns::hospital(), &hospital(h)),
            params(&[("hospital", h)])
        );
        let both = [("hospital", h), ("department", d)];
        assert_eq!(matched(patterns::department(), &at.href()), params(&both));
        assert_eq!(
            matched(patterns::department_schedule(), &at.schedule()),
            params(&both)
        );
        let doctor = [("hospital", h), ("department", d), ("doctor", doc)];
        assert_eq!(
            matched(patterns::doctor(), &at.doctor(doc)),
            params(&doctor)
        );
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(
            matched(patterns::doctor(), &at.doctor_on(doc, day)),
            params(&doctor)
        );
        assert!(at.doctor_on(doc, day).ends_with("?day=2026-12-07"));
        assert_eq!(
            matched(patterns::book(), &at.book(doc, slot)),
            params(&[
                ("hospital", h),
                ("department", d),
                ("doctor", doc),
                ("slot", slot)
            ])
        );
        assert_eq!(matched(patterns::my_bookings(), MY_BOOKINGS), Some(vec![]));
        assert_eq!(matched(patterns::ledger(), LEDGER), Some(vec![]));
        assert_eq!(
            matched(patterns::booking(), &booking(code)),
            params(&[("code", code)])
        );
    }

    #[test]
    fn a_link_reaches_no_other_page() {
        let at = Department::new("h1", "d1");
        assert_eq!(matched(patterns::department(), &at.schedule()), None);
        assert_eq!(matched(patterns::doctor(), &at.book("doc", "s")), None);
        assert_eq!(matched(patterns::hospital(), &at.href()), None);
        assert_eq!(matched(patterns::booking(), MY_BOOKINGS), None);
    }
}
