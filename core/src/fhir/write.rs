//! What a booking writes to a FHIR server, and how a stored Appointment reads back as a booking.
//!
//! The protocol, for one idempotency key:
//! 1. an Appointment with the key's identifier already exists → that is the booking;
//! 2. claim the Slot: a versioned update (`If-Match`) setting `busy` and the claim extension with
//!    the key — a slot already claimed *for this key* counts as claimed, any other busy slot is
//!    taken;
//! 3. create the booking's own Patient conditionally on the key's identifier;
//! 4. create the Appointment conditionally on the key's identifier.
//!
//! Any step can be lost in the network and repeated; none is done twice. A server that never
//! marks slots busy on its own still cannot give one slot to two bookings, because the claim is a
//! versioned update.
//!
//! The Patient belongs to the booking, not to the person: it is matched by the key, a secret of
//! the device, never by the document. Matching by document would hand the browser whatever
//! Patient the server already holds for a number anyone can type (a server that finds it answers
//! without a `Location`, and the id must then be searched for). So the FHIR server holds one
//! Patient per booking, each with the document, and links them as it links any other source's.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{Value, json};

use super::model::{Appointment, Patient};
use super::read::{is_fhir_id, written_name};
use super::{
    BOOKING_CODE_SYSTEM, BOOKING_KEY_SYSTEM, CHANNEL_SYSTEM, CLAIM_EXTENSION, FhirError,
    HK_MACAO_PERMIT_SYSTEM, PASSPORT_SYSTEM, RESIDENT_ID_SYSTEM, TAIWAN_PERMIT_SYSTEM,
};
use crate::identity::{self, last4, mask_document, mask_name, mask_phone};
use crate::{
    Booking, BookingStatus, DocumentKind, MaskedPatient, Problem, ProblemKind, SlotSummary,
};

/// Until this long before the start a booking made through FHIR can be cancelled online, as with
/// the reference API's default.
pub const CANCEL_CUTOFF_MINUTES: i64 = 120;

/// Characters of booking codes: no 0/O, 1/I/L look-alikes.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

pub fn document_system(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::ResidentId => RESIDENT_ID_SYSTEM,
        DocumentKind::Passport => PASSPORT_SYSTEM,
        DocumentKind::HkMacaoPermit => HK_MACAO_PERMIT_SYSTEM,
        DocumentKind::TaiwanPermit => TAIWAN_PERMIT_SYSTEM,
    }
}

fn document_kind(system: &str) -> Option<DocumentKind> {
    [
        DocumentKind::ResidentId,
        DocumentKind::Passport,
        DocumentKind::HkMacaoPermit,
        DocumentKind::TaiwanPermit,
    ]
    .into_iter()
    .find(|k| document_system(*k) == system)
}

/// The short code patients quote, derived from the idempotency key so every retry names the same
/// booking: eight characters (about 40 bits) of a 64-bit FNV-1a hash, as `XXXX-XXXX`.
pub fn booking_code(key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let n = CODE_ALPHABET.len() as u64;
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        code.push(CODE_ALPHABET[(hash % n) as usize] as char);
        hash /= n;
    }
    code
}

/// A search or `If-None-Exist` condition on one identifier.
pub fn identifier_condition(system: &str, value: &str) -> String {
    format!(
        "identifier={}%7C{}",
        crate::encode_component(system),
        crate::encode_component(value)
    )
}

/// The condition that finds what was made under a key: the Appointment, and the Patient made
/// for it. Both are created under it, so a retry finds the first try's and makes no second.
///
/// ```
/// use fairslot_core::fhir::booking_condition;
/// assert!(booking_condition("k1").ends_with("booking-key%7Ck1"));
/// ```
pub fn booking_condition(key: &str) -> String {
    identifier_condition(BOOKING_KEY_SYSTEM, key)
}

/// The Patient a booking creates, from the checked and normalised input: the document and the
/// booking's key as identifiers, the name, the mobile number. The document is kept for whoever
/// checks a proof against it ([`patient_last4`]) and for the hospital's record linkage; the key
/// makes the Patient this booking's own (see the module documentation).
pub fn patient_resource(p: &identity::Patient, key: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [
            { "system": document_system(p.document_kind), "value": p.document_number },
            { "system": BOOKING_KEY_SYSTEM, "value": key },
        ],
        "name": [{ "text": p.name }],
        "telecom": [{ "system": "phone", "value": p.phone.as_str(), "use": "mobile" }],
    })
}

/// The patient a booking shows, masked, from what the app itself sent: the browser never reads a
/// Patient back from the server, where anyone holding a booking code could see it.
pub fn masked_input(p: &identity::Patient) -> MaskedPatient {
    MaskedPatient {
        name: mask_name(&p.name),
        document_kind: p.document_kind,
        document_number: mask_document(&p.document_number),
        phone: mask_phone(p.phone.as_str()),
    }
}

/// The id of the `kind` resource a `Location` header names: `…/Patient/{id}` or
/// `…/Patient/{id}/_history/{version}`, absolute or relative. `None` for anything else, and for
/// an id that is not a FHIR id.
///
/// ```
/// use fairslot_core::fhir::id_from_location;
/// assert_eq!(id_from_location("/fhir/Patient/p7/_history/2", "Patient"), Some("p7"));
/// assert_eq!(id_from_location("https://h.example/R4/Appointment/a1", "Patient"), None);
/// ```
pub fn id_from_location<'a>(location: &'a str, kind: &str) -> Option<&'a str> {
    let path = location.trim().split(['?', '#']).next()?;
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let (named, id) = match segments.as_slice() {
        [.., named, id, "_history", version] if !version.is_empty() => (*named, *id),
        [.., named, id] => (*named, *id),
        _ => return None,
    };
    (named == kind && is_fhir_id(id)).then_some(id)
}

/// Who books what, for [`appointment_resource`].
#[derive(Debug, Clone)]
pub struct AppointmentDraft<'a> {
    pub key: &'a str,
    pub channel: &'a str,
    pub slot_id: &'a str,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub patient_id: &'a str,
    pub role_id: &'a str,
    pub created: DateTime<Utc>,
}

pub fn appointment_resource(d: &AppointmentDraft<'_>) -> Value {
    json!({
        "resourceType": "Appointment",
        "meta": { "tag": [{ "system": CHANNEL_SYSTEM, "code": d.channel }] },
        "identifier": [
            { "system": BOOKING_KEY_SYSTEM, "value": d.key },
            { "system": BOOKING_CODE_SYSTEM, "value": booking_code(d.key) },
        ],
        "status": "booked",
        "slot": [{ "reference": format!("Slot/{}", d.slot_id) }],
        "start": d.start.to_rfc3339(),
        "end": d.end.to_rfc3339(),
        "created": d.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "participant": [
            { "actor": { "reference": format!("Patient/{}", d.patient_id) }, "status": "accepted" },
            { "actor": { "reference": format!("PractitionerRole/{}", d.role_id) }, "status": "accepted" },
        ],
    })
}

/// How long a claim stands without the Appointment it was made for. A client that claimed a slot
/// and was never heard of again (closed, gave up, lost for a day) does not block it for good: after
/// this, another booking may claim it — still with `If-Match`, and only when no Appointment exists
/// under the old claim's key.
pub const CLAIM_TTL_MINUTES: i64 = 10;

fn claim_extension(slot: &Value) -> Option<&Value> {
    slot.get("extension")?
        .as_array()?
        .iter()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(CLAIM_EXTENSION))
}

fn claim_part<'a>(claim: &'a Value, part: &str) -> Option<&'a Value> {
    claim
        .get("extension")?
        .as_array()?
        .iter()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(part))
}

/// The key a slot is claimed for, if any.
pub fn claimed_by(slot: &Value) -> Option<&str> {
    claim_part(claim_extension(slot)?, "key")?
        .get("valueString")?
        .as_str()
}

/// Whether the slot's claim (if any) is older than [`CLAIM_TTL_MINUTES`] at `now`. A claim
/// without a readable time counts as old.
pub fn claim_is_stale(slot: &Value, now: DateTime<Utc>) -> bool {
    let Some(claim) = claim_extension(slot) else {
        return false;
    };
    let at = claim_part(claim, "at")
        .and_then(|e| e.get("valueDateTime"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    at.is_none_or(|at| now - at.with_timezone(&Utc) > Duration::minutes(CLAIM_TTL_MINUTES))
}

fn without_claim(slot: &Value) -> Value {
    let mut out = slot.clone();
    if let Some(list) = out.get_mut("extension").and_then(Value::as_array_mut) {
        list.retain(|e| e.get("url").and_then(Value::as_str) != Some(CLAIM_EXTENSION));
        if list.is_empty()
            && let Some(obj) = out.as_object_mut()
        {
            obj.remove("extension");
        }
    }
    out
}

/// The slot as written back to claim it: busy, naming the key and the time. Everything else the
/// server had stays as it was.
pub fn claim(slot: &Value, key: &str, now: DateTime<Utc>) -> Value {
    let mut out = without_claim(slot);
    if let Some(obj) = out.as_object_mut() {
        obj.insert("status".into(), json!("busy"));
        let ext = obj.entry("extension").or_insert_with(|| json!([]));
        if let Some(list) = ext.as_array_mut() {
            list.push(json!({ "url": CLAIM_EXTENSION, "extension": [
                { "url": "key", "valueString": key },
                { "url": "at", "valueDateTime": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) },
            ] }));
        }
    }
    out
}

/// The slot free again, without a claim.
pub fn unclaim(slot: &Value) -> Value {
    let mut out = without_claim(slot);
    if let Some(obj) = out.as_object_mut() {
        obj.insert("status".into(), json!("free"));
    }
    out
}

/// The Appointment as written back to cancel it.
pub fn cancelled(appointment: &Value) -> Value {
    let mut out = appointment.clone();
    if let Some(obj) = out.as_object_mut() {
        obj.insert("status".into(), json!("cancelled"));
        obj.insert(
            "cancelationReason".into(),
            json!({ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                "code": "pat",
                "display": "Patient",
            }] }),
        );
    }
    out
}

/// A resource's version, for `If-Match`.
pub fn version_of(resource: &Value) -> Option<&str> {
    resource.get("meta")?.get("versionId")?.as_str()
}

/// The `If-Match` value for a version: a weak ETag, as servers send them.
pub fn if_match(version: &str) -> String {
    format!("W/\"{version}\"")
}

/// The last four characters of the patient's document, the ownership proof of lookups.
pub fn patient_last4(patient: &Patient) -> Option<String> {
    patient
        .identifier
        .iter()
        .find(|i| i.system.as_deref().and_then(document_kind).is_some())
        .and_then(|i| i.value.as_deref())
        .map(last4)
}

/// The patient as a booking shows them back: masked, and empty where nothing is known (a
/// gateway or a deployment that keeps Patient resources from the browser).
pub fn masked_patient(patient: Option<&Patient>) -> MaskedPatient {
    let id = patient.and_then(|p| {
        p.identifier.iter().find_map(|i| {
            let kind = i.system.as_deref().and_then(document_kind)?;
            Some((kind, i.value.clone().unwrap_or_default()))
        })
    });
    let (document_kind, number) = id.unwrap_or((DocumentKind::ResidentId, String::new()));
    let name = patient
        .and_then(|p| p.name.first())
        .and_then(|n| written_name(n, true))
        .unwrap_or_default();
    let phone = patient
        .and_then(|p| {
            p.telecom
                .iter()
                .find(|t| t.system.as_deref() == Some("phone"))
        })
        .and_then(|t| t.value.clone())
        .unwrap_or_default();
    MaskedPatient {
        name: mask_name(&name),
        document_kind,
        document_number: mask_document(&number),
        phone: mask_phone(&phone),
    }
}

fn parse_time(value: Option<&str>) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(value?).ok()
}

/// A stored Appointment as the booking the app shows. `summary` says where and when (resolved by
/// the adapter from the slot); `patient` is already masked, from what the app itself knows (see
/// [`masked_input`]) or a gateway's answer, and empty otherwise ([`masked_patient`] of `None`).
pub fn booking(
    appointment: &Appointment,
    patient: MaskedPatient,
    summary: SlotSummary,
) -> Result<Booking, FhirError> {
    let what = format!(
        "Appointment/{}",
        appointment.id.as_deref().unwrap_or_default()
    );
    let code = appointment
        .identifier
        .iter()
        .find(|i| i.system.as_deref() == Some(BOOKING_CODE_SYSTEM))
        .and_then(|i| i.value.clone())
        .ok_or_else(|| FhirError::malformed(&what, "no booking code"))?;
    let status = match appointment.status.as_deref() {
        Some("cancelled" | "noshow" | "entered-in-error") => BookingStatus::Cancelled,
        Some(_) => BookingStatus::Confirmed,
        None => return Err(FhirError::malformed(&what, "no status")),
    };
    let updated = parse_time(appointment.meta.last_updated.as_deref());
    let created_at = parse_time(appointment.created.as_deref())
        .or(updated)
        .ok_or_else(|| FhirError::malformed(&what, "no creation time"))?;
    let channel = appointment
        .meta
        .tag
        .iter()
        .find(|t| t.system.as_deref() == Some(CHANNEL_SYSTEM))
        .and_then(|t| t.code.clone())
        .unwrap_or_default();
    Ok(Booking {
        code,
        status,
        patient,
        channel,
        created_at,
        cancel_deadline: summary.start - Duration::minutes(CANCEL_CUTOFF_MINUTES),
        cancelled_at: (status == BookingStatus::Cancelled)
            .then_some(updated)
            .flatten(),
        slot: summary,
        // A FHIR server keeps no open ledger.
        ledger: None,
    })
}

/// A refusal in the app's own terms. The FHIR server's own wording is not kept: it may repeat
/// what the patient typed, and the app explains each kind itself.
pub fn problem(kind: ProblemKind) -> Problem {
    Problem {
        type_uri: kind.type_uri(),
        title: kind.slug().to_string(),
        status: kind.status(),
        detail: None,
        errors: Vec::new(),
        alternatives: Vec::new(),
        ..Default::default()
    }
}

/// Whether a server's CapabilityStatement allows booking the way Fairslot does (see the module
/// documentation): Slot update with versions (the claim's `If-Match`), Patient and Appointment
/// create, Appointment search. `None` when the answer is not a CapabilityStatement (some servers
/// have no `metadata`): then the server is taken at its word, request by request.
pub fn takes_bookings(capability: &Value) -> Option<bool> {
    if capability.get("resourceType")?.as_str()? != "CapabilityStatement" {
        return None;
    }
    let rest = capability.get("rest")?.as_array()?;
    let server = rest
        .iter()
        .find(|r| r.get("mode").and_then(Value::as_str) == Some("server"))
        .or(rest.first())?;
    let resources = server.get("resource")?.as_array()?;
    let entry = |kind: &str| {
        resources
            .iter()
            .find(|r| r.get("type").and_then(Value::as_str) == Some(kind))
    };
    // A resource without an interaction list claims nothing either way.
    let can = |r: &Value, code: &str| {
        r.get("interaction")
            .and_then(Value::as_array)
            .is_none_or(|list| {
                list.iter()
                    .any(|i| i.get("code").and_then(Value::as_str) == Some(code))
            })
    };
    let ok = [
        ("Slot", "update"),
        ("Patient", "create"),
        ("Appointment", "create"),
        ("Appointment", "search-type"),
    ]
    .iter()
    .all(|(kind, code)| entry(kind).is_some_and(|r| can(r, code)))
        && entry("Slot")
            .is_some_and(|s| s.get("versioning").and_then(Value::as_str) != Some("no-version"));
    Some(ok)
}

/// Whether a resource carries exactly this identifier. Search answers are checked with it: a
/// server that does not know a search parameter may ignore it and answer with everything.
pub fn has_identifier(resource: &Value, system: &str, value: &str) -> bool {
    resource
        .get("identifier")
        .and_then(Value::as_array)
        .is_some_and(|ids| {
            ids.iter().any(|i| {
                i.get("system").and_then(Value::as_str) == Some(system)
                    && i.get("value").and_then(Value::as_str) == Some(value)
            })
        })
}

/// Whether an Appointment still holds its slot: any status but the ones that give it back.
pub fn is_active_appointment(appointment: &Value) -> bool {
    !matches!(
        appointment.get("status").and_then(Value::as_str),
        Some("cancelled" | "noshow" | "entered-in-error")
    )
}

/// Whether an Appointment is for the slot `slot_id`.
pub fn books_slot(appointment: &Value, slot_id: &str) -> bool {
    appointment
        .get("slot")
        .and_then(Value::as_array)
        .is_some_and(|slots| {
            slots.iter().any(|r| {
                serde_json::from_value::<super::Reference>(r.clone())
                    .ok()
                    .is_some_and(|r| r.id_of("Slot") == Some(slot_id))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::read_resource;

    #[test]
    fn a_created_patient_is_known_by_its_location() {
        for (location, id) in [
            ("/fhir/Patient/p-1", Some("p-1")),
            ("/fhir/Patient/p-1/", Some("p-1")),
            ("Patient/p.1", Some("p.1")),
            (
                "http://127.0.0.1:4000/fhir/R4/Patient/abc/_history/9f2c",
                Some("abc"),
            ),
            ("https://h.example/R4/Patient/abc?x=1#y", Some("abc")),
            (" /fhir/Patient/abc/_history/1 ", Some("abc")),
            // Another resource, no id, an id FHIR does not allow, a history without a version.
            ("/fhir/Appointment/a1", None),
            ("/fhir/Patient", None),
            ("/fhir/Patient/", None),
            ("/fhir/Patient/..", None),
            ("/fhir/Patient/a%20b", None),
            ("/fhir/Patient/abc/_history/", None),
            ("/fhir/Patient/abc/_history", None),
            ("", None),
        ] {
            assert_eq!(id_from_location(location, "Patient"), id, "{location}");
        }
    }

    #[test]
    fn the_ticket_masks_what_the_app_sent() {
        let input = crate::PatientInput {
            name: "王小明".into(),
            document_kind: DocumentKind::ResidentId,
            document_number: "11010519491231002x".into(),
            phone: "138 0013 8000".into(),
            medical_card: None,
            relationship: crate::Relationship::Myself,
            consent: true,
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let patient = identity::Patient::validate(&input, today).unwrap();
        let masked = masked_input(&patient);
        assert_eq!(
            masked,
            masked_patient(Some(
                &read_resource(patient_resource(&patient, "k-1"), "Patient").unwrap()
            ))
        );
        assert_eq!(masked.document_kind, DocumentKind::ResidentId);
        assert_eq!(masked.document_number, "1101**************");
        assert!(!masked.name.is_empty() && !masked.name.contains("小明"));
        assert!(!masked.phone.contains("0013") && masked.phone.starts_with("138"));
    }

    fn patient() -> identity::Patient {
        let input = crate::PatientInput {
            name: "王小明".into(),
            document_kind: DocumentKind::Passport,
            document_number: "e12345678".into(),
            phone: "13800138000".into(),
            medical_card: None,
            relationship: crate::Relationship::Myself,
            consent: true,
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        identity::Patient::validate(&input, today).unwrap()
    }

    #[test]
    fn a_bookings_patient_is_found_by_its_key_never_by_its_document() {
        let key = "3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b";
        let p = patient();
        let resource = patient_resource(&p, key);
        // The booking's own: found under its key, the same condition as its Appointment's.
        assert!(has_identifier(&resource, BOOKING_KEY_SYSTEM, key));
        assert!(!has_identifier(
            &resource,
            BOOKING_KEY_SYSTEM,
            "another-key"
        ));
        let condition = booking_condition(key);
        assert_eq!(condition, identifier_condition(BOOKING_KEY_SYSTEM, key));
        // Nothing in the condition names the person: a stranger's document matches nothing.
        assert!(!condition.contains(&p.document_number));
        assert!(!condition.contains(&crate::encode_component(PASSPORT_SYSTEM)));
        // The document stays, for the proof and for the hospital's record linkage.
        assert!(has_identifier(&resource, PASSPORT_SYSTEM, "E12345678"));
        let stored: Patient = read_resource(resource, "Patient").unwrap();
        assert_eq!(patient_last4(&stored).as_deref(), Some("5678"));
        let masked = masked_patient(Some(&stored));
        assert_eq!(masked.document_kind, DocumentKind::Passport);
        assert_eq!(masked, masked_input(&p));
        // Another booking by the same person is another Patient.
        let again = patient_resource(&p, "another-key");
        assert!(!has_identifier(&again, BOOKING_KEY_SYSTEM, key));
    }
}
