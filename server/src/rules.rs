//! The deployment's rules for holds, bookings and proofs of ownership, and the keyed hash that
//! names a person, a phone or an address without keeping it.
//!
//! Every rule is checked inside the transaction that takes the place, so two racing requests of
//! one person cannot both pass it, however many server processes share the database.

use std::net::IpAddr;
use std::path::Path;

use chrono::Duration;
use fairslot_core::DocumentKind;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Rules;
use crate::random::load_or_create_key;

/// Limits on holds (锁号), so one script cannot keep a session's places from everyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldLimits {
    /// Live holds per client; a new one beyond it gives the client's oldest back.
    pub per_client: u32,
    /// Holds per client per minute, released and converted ones not counted.
    pub client_per_minute: u32,
    /// Holds per IP address per minute, released and converted ones not counted.
    pub ip_per_minute: u32,
    /// Live holds per IP address.
    pub ip_live: u32,
    /// Holds that ran out unconverted per client per hour before it is slowed down (0: never).
    pub unconverted_per_hour: u32,
}

/// The real-name booking rules (实名制). A count of 0 switches its rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingLimits {
    pub per_doctor_day: u32,
    pub per_department_day: u32,
    pub active_per_person: u32,
    pub active_per_phone: u32,
    /// A cancellation closer than this to the slot's start is late.
    pub late_cancel: Duration,
    /// Late cancellations within [`LATE_CANCEL_WINDOW`] that start a cooling-off period (0: never).
    pub late_cancels: u32,
    /// How long the cooling-off period lasts after the late cancellation that started it.
    pub cooling_off: Duration,
    /// Bookings per address per hour that take a place without a live hold (0: no limit).
    pub ip_direct_per_hour: u32,
}

/// How far back late cancellations count.
pub const LATE_CANCEL_WINDOW: Duration = Duration::days(30);

/// Lockout of a booking code after wrong proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofPolicy {
    /// Wrong proofs before the code locks.
    pub attempts: u32,
    /// How long the first lock lasts after the wrong proof that starts it; each further lock
    /// doubles.
    pub lock: Duration,
}

/// Everything above, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub holds: HoldLimits,
    pub bookings: BookingLimits,
    pub proof: ProofPolicy,
}

impl From<&Rules> for Policy {
    fn from(r: &Rules) -> Self {
        Self {
            holds: HoldLimits {
                per_client: r.holds_per_client,
                client_per_minute: r.client_holds_per_minute,
                ip_per_minute: r.ip_holds_per_minute,
                ip_live: r.ip_live_holds,
                unconverted_per_hour: r.unconverted_holds_per_hour,
            },
            bookings: BookingLimits {
                per_doctor_day: r.per_doctor_day,
                per_department_day: r.per_department_day,
                active_per_person: r.active_per_person,
                active_per_phone: r.active_per_phone,
                late_cancel: Duration::minutes(i64::from(r.late_cancel_minutes)),
                late_cancels: r.late_cancels,
                cooling_off: Duration::days(i64::from(r.cooling_off_days)),
                ip_direct_per_hour: r.ip_direct_bookings_per_hour,
            },
            proof: ProofPolicy {
                attempts: r.proof_attempts,
                lock: Duration::minutes(i64::from(r.proof_lock_minutes)),
            },
        }
    }
}

/// The deployment's secret for keyed hashes (HMAC-SHA-256): rules compare people, phones and
/// addresses by these hashes, so the rule tables hold no identity in clear and the hashes cannot
/// be reversed by trying every ID number without the key.
#[derive(Clone)]
pub struct HashKey([u8; 32]);

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(…)")
    }
}

/// File of the key inside the data directory.
pub const KEY_FILE: &str = "hash.key";

impl HashKey {
    /// Reads the key from `dir`, or makes one (from the operating system's random source) on
    /// first start. Servers sharing a database must share this file.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        load_or_create_key(&dir.join(KEY_FILE)).map(Self)
    }

    fn hash(&self, domain: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A person: the document's kind and its number as validated (uppercase, no spaces).
    pub fn person(&self, kind: DocumentKind, number: &str) -> String {
        let kind = serde_json::to_string(&kind).unwrap_or_default();
        self.hash("person", &format!("{kind}:{}", number.to_ascii_uppercase()))
    }

    /// A mainland mobile number as validated (11 digits).
    pub fn phone(&self, phone: &str) -> String {
        self.hash("phone", phone)
    }

    /// An address; IPv6 by its /64 network, which is what one subscriber gets.
    pub fn address(&self, ip: IpAddr) -> String {
        let network = match ip.to_canonical() {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        };
        self.hash("address", &network)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let a = HashKey::load_or_create(dir.path()).unwrap();
        let b = HashKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.0, b.0);
        assert_eq!(
            a.person(DocumentKind::ResidentId, "11010519491231002x"),
            b.person(DocumentKind::ResidentId, "11010519491231002X")
        );
    }

    #[test]
    fn hashes_depend_on_the_key_and_never_contain_the_value() {
        let one = HashKey([1; 32]);
        let two = HashKey([2; 32]);
        let id = "11010519491231002X";
        let h = one.person(DocumentKind::ResidentId, id);
        assert_ne!(h, two.person(DocumentKind::ResidentId, id));
        assert_ne!(h, one.person(DocumentKind::Passport, id));
        assert!(!h.contains("002X") && !h.contains("1101"));
        assert_ne!(one.phone("13812345678"), one.phone("13812345679"));
    }

    #[test]
    fn ipv6_addresses_of_one_subscriber_are_one_address() {
        let key = HashKey([7; 32]);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(key.address(a), key.address(b));
        assert_ne!(key.address(a), key.address(c));
    }

    #[test]
    fn a_damaged_key_file_stops_the_server() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not hex").unwrap();
        assert!(HashKey::load_or_create(dir.path()).is_err());
    }
}
