//! The device's own list of bookings ("my bookings"): code, where and when, status — never who.
//!
//! Stored by the app in local storage as JSON. Identity is deliberately not part of the type, so it
//! cannot end up on the device by this route; lookups ask for the document's last four characters.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::contract::{Booking, BookingStatus, LedgerRef, SlotSummary};

/// Most bookings kept; the oldest fall off.
pub const MAX_ENTRIES: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingRecord {
    pub code: String,
    pub status: BookingStatus,
    pub slot: SlotSummary,
    /// Cancelling is possible until this instant; unknown for a booking the device learnt of by
    /// its idempotency key alone, without the proof to read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_deadline: Option<DateTime<FixedOffset>>,
    /// The booking's entry in the deployment's open ledger, when it keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerRef>,
}

impl From<&Booking> for BookingRecord {
    fn from(b: &Booking) -> Self {
        Self {
            code: b.code.clone(),
            status: b.status,
            slot: b.slot.clone(),
            cancel_deadline: Some(b.cancel_deadline),
            ledger: b.ledger.clone(),
        }
    }
}

/// Reads the stored list; anything unreadable counts as empty rather than breaking the page.
pub fn parse(json: Option<&str>) -> Vec<BookingRecord> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// Adds or updates one booking, newest first, keeping at most [`MAX_ENTRIES`].
pub fn upsert(list: &mut Vec<BookingRecord>, record: BookingRecord) {
    list.retain(|r| r.code != record.code);
    list.insert(0, record);
    list.truncate(MAX_ENTRIES);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Period, Text};

    fn record(code: &str, status: BookingStatus) -> BookingRecord {
        let at: DateTime<FixedOffset> = "2026-11-23T08:30:00+08:00".parse().unwrap();
        BookingRecord {
            code: code.into(),
            status,
            slot: SlotSummary {
                slot_id: "s".into(),
                start: at,
                end: at,
                period: Period::Am,
                hospital_id: "h1".into(),
                hospital_name: Text::new("医院", "Hospital"),
                hospital_address: Text::new("地址", "Address"),
                department_id: "d".into(),
                department_name: Text::new("科室", "Dept"),
                doctor_id: "doc".into(),
                doctor_name: Text::new("医生", "Doctor"),
                fee_fen: Some(100),
            },
            cancel_deadline: Some(at),
            ledger: None,
        }
    }

    #[test]
    fn upsert_replaces_by_code_and_puts_newest_first() {
        let mut list = vec![
            record("A", BookingStatus::Confirmed),
            record("B", BookingStatus::Confirmed),
        ];
        upsert(&mut list, record("B", BookingStatus::Cancelled));
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].code, "B");
        assert_eq!(list[0].status, BookingStatus::Cancelled);
        for i in 0..60 {
            upsert(
                &mut list,
                record(&format!("X{i}"), BookingStatus::Confirmed),
            );
        }
        assert_eq!(list.len(), MAX_ENTRIES);
        assert_eq!(list[0].code, "X59");
    }

    #[test]
    fn unreadable_storage_is_an_empty_list() {
        assert!(parse(None).is_empty());
        assert!(parse(Some("{not json")).is_empty());
        assert!(parse(Some(r#"[{"code":1}]"#)).is_empty());
        let list = vec![record("A", BookingStatus::Confirmed)];
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(parse(Some(&json)), list);
        assert!(!json.contains("patient") && !json.contains("phone"));
    }
}
