//! Adapter for Fairslot's own JSON API (`/api/v1`, see `server/openapi.json`). The contract types
//! come from the core crate, so this module is little more than the routes.

use chrono::NaiveDate;
use fairslot_core::{
    Booking, BookingRequest, CancelRequest, DepartmentTree, DoctorList, Hold, HoldRequest,
    HospitalList, KeyLookupRequest, KeyedBooking, LookupRequest, Schedule, encode_component as enc,
};

use super::{ApiFuture, BookingApi, KeyedAnswer, ScheduleTarget, Transport};

/// The native API holds a slot while the patient fills in the form.
pub const HOLDS: bool = true;

pub struct NativeApi {
    transport: Transport,
}

impl NativeApi {
    pub fn new(transport: Transport) -> Self {
        Self { transport }
    }
}

/// The path and query of a schedule request.
pub fn schedule_path(target: &ScheduleTarget, from: NaiveDate, days: u32) -> String {
    let (key, id) = match target {
        ScheduleTarget::Doctor(id) => ("doctor", id),
        ScheduleTarget::Department(id) => ("department", id),
    };
    format!("/schedules?{key}={}&from={}&days={days}", enc(id), from)
}

/// The path of a booking lookup; it names the booking and nothing else.
pub fn lookup_path(code: &str) -> String {
    format!("/bookings/{}/lookup", enc(code))
}

impl BookingApi for NativeApi {
    fn holds(&self) -> bool {
        HOLDS
    }

    fn hospitals(&self) -> ApiFuture<'_, HospitalList> {
        Box::pin(self.transport.get("/hospitals"))
    }

    fn departments(&self, hospital_id: &str) -> ApiFuture<'_, DepartmentTree> {
        let path = format!("/hospitals/{}/departments", enc(hospital_id));
        Box::pin(async move { self.transport.get(&path).await })
    }

    fn doctors(&self, department_id: &str) -> ApiFuture<'_, DoctorList> {
        let path = format!("/departments/{}/doctors", enc(department_id));
        Box::pin(async move { self.transport.get(&path).await })
    }

    fn schedule(
        &self,
        target: ScheduleTarget,
        from: NaiveDate,
        days: u32,
    ) -> ApiFuture<'_, Schedule> {
        let path = schedule_path(&target, from, days);
        Box::pin(async move { self.transport.get(&path).await })
    }

    fn hold(&self, slot_id: &str) -> ApiFuture<'_, Hold> {
        let body = HoldRequest {
            slot_id: slot_id.to_string(),
        };
        Box::pin(async move { self.transport.post("/holds", &body, None).await })
    }

    fn release_hold(&self, hold_id: &str) -> ApiFuture<'_, ()> {
        let path = format!("/holds/{}", enc(hold_id));
        Box::pin(async move { self.transport.delete(&path).await })
    }

    fn book(&self, request: BookingRequest, idempotency_key: String) -> ApiFuture<'_, Booking> {
        Box::pin(async move {
            self.transport
                .post("/bookings", &request, Some(&idempotency_key))
                .await
        })
    }

    fn booking_by_key(
        &self,
        idempotency_key: &str,
        document_last4: Option<&str>,
    ) -> ApiFuture<'_, KeyedAnswer> {
        // The key is a credential of this device: it goes in a body, never in a URL.
        let body = KeyLookupRequest {
            idempotency_key: idempotency_key.to_string(),
        };
        let proof = document_last4.map(str::to_string);
        Box::pin(async move {
            let keyed: KeyedBooking = self.transport.post("/bookings/by-key", &body, None).await?;
            Ok(match proof {
                Some(proof) => {
                    let found = self.lookup(&keyed.code, &proof).await;
                    read_in_full(keyed, found)
                }
                None => KeyedAnswer::Code(keyed),
            })
        })
    }

    fn lookup(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        // The proof of ownership goes in the body: URLs end up in proxy and CDN logs.
        let path = lookup_path(code);
        let body = LookupRequest {
            document_last4: document_last4.to_string(),
        };
        Box::pin(async move { self.transport.post(&path, &body, None).await })
    }

    fn cancel(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        let path = format!("/bookings/{}/cancel", enc(code));
        let body = CancelRequest {
            document_last4: document_last4.to_string(),
        };
        Box::pin(async move { self.transport.post(&path, &body, None).await })
    }
}

/// The booking found by key, read in full by its code where the lookup worked. Whatever the
/// lookup says (a network gone again, a code locked by someone guessing at it), the booking
/// exists: it is answered with its code rather than as a failure, so it is never lost.
pub fn read_in_full(keyed: KeyedBooking, lookup: Result<Booking, super::ApiError>) -> KeyedAnswer {
    match lookup {
        Ok(booking) if booking.code == keyed.code => KeyedAnswer::Booking(Box::new(booking)),
        _ => KeyedAnswer::Code(keyed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(code: &str) -> Booking {
        serde_json::from_value(serde_json::json!({
            "code": code, "status": "confirmed", "channel": "web",
            "slot": {
                "slot_id": "s1", "start": "2026-11-23T08:30:00+08:00", "end": "2026-11-23T08:40:00+08:00",
                "period": "am", "hospital_id": "h1", "hospital_name": {"zh": "医院", "en": "Hospital"},
                "hospital_address": {"zh": "路", "en": "Road"}, "department_id": "d",
                "department_name": {"zh": "科", "en": "Dept"}, "doctor_id": "doc",
                "doctor_name": {"zh": "医生", "en": "Doctor"}
            },
            "patient": {"name": "李*", "document_kind": "resident_id",
                        "document_number": "1101**************", "phone": "138****5678"},
            "created_at": "2026-11-22T10:00:00+08:00", "cancel_deadline": "2026-11-23T06:30:00+08:00"
        }))
        .unwrap()
    }

    #[test]
    fn a_booking_found_by_key_is_never_lost_whatever_the_lookup_says() {
        let keyed = KeyedBooking {
            code: "K7Q4M2XP".into(),
            status: fairslot_core::BookingStatus::Confirmed,
        };
        assert_eq!(
            read_in_full(keyed.clone(), Ok(booking("K7Q4M2XP"))),
            KeyedAnswer::Booking(Box::new(booking("K7Q4M2XP")))
        );
        // The lookup failed (the network, a code locked by someone guessing at it), or answered
        // for another booking: the booking is still known, by its code.
        for failed in [
            Err(crate::api::ApiError::Network),
            Err(crate::api::ApiError::Server {
                status: 429,
                retry_after: None,
            }),
            Ok(booking("OTHER123")),
        ] {
            assert_eq!(
                read_in_full(keyed.clone(), failed),
                KeyedAnswer::Code(keyed.clone())
            );
        }
    }

    #[test]
    fn schedule_paths_encode_ids() {
        let from = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            schedule_path(&ScheduleTarget::Doctor("h1-cardio-1".into()), from, 14),
            "/schedules?doctor=h1-cardio-1&from=2026-11-23&days=14"
        );
        assert_eq!(
            schedule_path(&ScheduleTarget::Department("a&days=999".into()), from, 7),
            "/schedules?department=a%26days%3D999&from=2026-11-23&days=7"
        );
    }

    #[test]
    fn lookup_paths_carry_the_code_only() {
        assert_eq!(lookup_path("K7Q4-M2XP"), "/bookings/K7Q4-M2XP/lookup");
        assert_eq!(
            lookup_path("x/../y?document_last4=002X"),
            "/bookings/x%2F..%2Fy%3Fdocument_last4%3D002X/lookup"
        );
    }
}
