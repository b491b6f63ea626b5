//! Booking, lookup and cancelling through FHIR, following the protocol in
//! [`fairslot_core::fhir`]'s `write` module: claim the Slot with a versioned update, then create the
//! booking's own Patient and the Appointment conditionally, all under the booking's key.
//!
//! Nothing the server answers is taken on trust: search answers are checked for the identifier
//! asked for, a claim that the server did not keep counts as lost, and a slot already booked by
//! another system is refused even when the server left it `free`.

use fairslot_core::fhir::{self, Bundle};
use fairslot_core::identity;
use fairslot_core::retry::Answered;
use fairslot_core::time::{at_hospital, hospital_today};
use fairslot_core::{
    Alternative, Booking, BookingRequest, MaskedPatient, PatientInput, ProblemKind, SlotSummary,
    Text,
};
use gloo_net::http::Method;
use serde_json::Value;
use std::collections::HashMap;

use super::Outgoing;
use super::{ApiError, FhirApi, Window, bad, interpret, not_found, taken, typed};
use crate::browser;

/// A refusal: the same request would get the same answer. Outages and lost answers are not.
fn is_refusal(e: &ApiError) -> bool {
    match e {
        ApiError::Problem(_) => true,
        ApiError::Server { status, .. } => Answered::of(*status) == Answered::Refusal,
        _ => false,
    }
}

fn unavailable() -> ApiError {
    ApiError::Problem(Box::new(fhir::problem(ProblemKind::Unavailable)))
}

/// The id of a resource just created, from what the server answered: the `Location` header, else
/// a body that names it. The body is looked at only because some servers ignore
/// `Prefer: return=minimal`; it is never read for anything else.
fn created_id(location: Option<&str>, body: &Value, kind: &str) -> Option<String> {
    if let Some(id) = location.and_then(|l| fhir::id_from_location(l, kind)) {
        return Some(id.to_string());
    }
    let named = body.get("resourceType").and_then(Value::as_str);
    body.get("id")
        .and_then(Value::as_str)
        .filter(|id| fhir::is_fhir_id(id) && named.is_none_or(|n| n == kind))
        .map(str::to_string)
}

/// The patient of a request, masked, for a booking found under its key: the patient the device
/// sent, never one read from the server.
fn masked_request(patient: &PatientInput) -> MaskedPatient {
    let today = hospital_today(browser::now_utc(), fhir::DEFAULT_UTC_OFFSET_MINUTES);
    match identity::Patient::validate(patient, today) {
        Ok(p) => fhir::masked_input(&p),
        Err(_) => fhir::masked_patient(None),
    }
}

impl FhirApi {
    /// Where and when a slot is, as a booking shows it.
    async fn summary(&self, slot: &fhir::Slot, role_id: &str) -> Result<SlotSummary, ApiError> {
        let list = self.list_of_role(role_id).await?;
        let doctor = list
            .items
            .iter()
            .find(|d| d.id == role_id)
            .ok_or_else(not_found)?;
        let what = format!("Slot/{}", slot.id.as_deref().unwrap_or_default());
        let offset = list.hospital.utc_offset_minutes;
        let start = fhir::instant(slot.start.as_deref(), &what).map_err(bad)?;
        let end = fhir::instant(slot.end.as_deref(), &what).map_err(bad)?;
        let start = at_hospital(start, offset);
        Ok(SlotSummary {
            slot_id: slot.id.clone().unwrap_or_default(),
            start,
            end: at_hospital(end, offset),
            period: fhir::period_of(start),
            hospital_id: list.hospital.id.clone(),
            hospital_name: list.hospital.name.clone(),
            hospital_address: list.hospital.address.clone(),
            department_id: list.department.id.clone(),
            department_name: list.department.name.clone(),
            doctor_id: doctor.id.clone(),
            doctor_name: doctor.name.clone(),
            fee_fen: doctor.fee_fen,
        })
    }

    /// What a booking can still say when its slot or doctor is gone from the directory: the
    /// Appointment's own times, in the default offset, and no names.
    fn bare_summary(
        appt: &fhir::Appointment,
        slot_id: &str,
        role_id: &str,
    ) -> Result<SlotSummary, ApiError> {
        let what = format!("Appointment/{}", appt.id.as_deref().unwrap_or_default());
        let offset = fhir::DEFAULT_UTC_OFFSET_MINUTES;
        let start = at_hospital(
            fhir::instant(appt.start.as_deref(), &what).map_err(bad)?,
            offset,
        );
        let end = at_hospital(
            fhir::instant(appt.end.as_deref(), &what).map_err(bad)?,
            offset,
        );
        let nothing = || Text::new("", "");
        Ok(SlotSummary {
            slot_id: slot_id.to_string(),
            start,
            end,
            period: fhir::period_of(start),
            hospital_id: String::new(),
            hospital_name: nothing(),
            hospital_address: nothing(),
            department_id: String::new(),
            department_name: nothing(),
            doctor_id: role_id.to_string(),
            doctor_name: nothing(),
            fee_fen: None,
        })
    }

    /// The doctor (PractitionerRole id) whose Schedule a slot is in: its PractitionerRole actor,
    /// else an active role of its Practitioner actor.
    pub(super) async fn role_of_slot(&self, slot: &fhir::Slot) -> Result<String, ApiError> {
        let schedule_id = slot.schedule.id_of("Schedule").ok_or_else(not_found)?;
        let schedule: fhir::Schedule =
            typed(self.read("Schedule", schedule_id).await?, "Schedule")?;
        if let Some(role) = schedule
            .actor
            .iter()
            .find_map(|a| a.id_of("PractitionerRole"))
        {
            return Ok(role.to_string());
        }
        let Some(person) = schedule.actor.iter().find_map(|a| a.id_of("Practitioner")) else {
            return Err(not_found());
        };
        let reference = format!("Practitioner/{person}");
        let found = self
            .search(
                "PractitionerRole",
                &format!(
                    "practitioner={}",
                    fairslot_core::encode_component(&reference)
                ),
            )
            .await?;
        found
            .iter()
            .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("PractitionerRole"))
            .filter_map(|r| typed::<fhir::PractitionerRole>(r.clone(), "PractitionerRole").ok())
            .filter(|r| r.active != Some(false))
            .filter(|r| {
                r.practitioner
                    .as_ref()
                    .and_then(|p| p.id_of("Practitioner"))
                    == Some(person)
            })
            .find_map(|r| r.id)
            .ok_or_else(not_found)
    }

    /// A stored Appointment as a booking, with its slot's place and time, and the patient as the
    /// app already knows them (masked): a Patient is never read from the server. A booking that
    /// exists is never reported as missing because the directory changed since.
    pub(super) async fn booking_of(
        &self,
        appointment: Value,
        patient: MaskedPatient,
    ) -> Result<Booking, ApiError> {
        let appt: fhir::Appointment = typed(appointment, "Appointment")?;
        let slot_id = appt
            .slot
            .iter()
            .find_map(|r| r.id_of("Slot"))
            .ok_or_else(|| ApiError::BadData("Appointment without a Slot".into()))?
            .to_string();
        let named_role = appt
            .participant
            .iter()
            .find_map(|p| p.actor.as_ref()?.id_of("PractitionerRole"))
            .map(str::to_string);
        let placed = async {
            let slot: fhir::Slot = typed(self.read_fresh("Slot", &slot_id).await?, "Slot")?;
            let role = match &named_role {
                Some(r) => r.clone(),
                None => self.role_of_slot(&slot).await?,
            };
            self.summary(&slot, &role).await
        }
        .await;
        let summary = match placed {
            Ok(s) => s,
            Err(e) if !is_refusal(&e) && !matches!(e, ApiError::BadData(_)) => return Err(e),
            Err(_) => Self::bare_summary(&appt, &slot_id, named_role.as_deref().unwrap_or(""))?,
        };
        fhir::booking(&appt, patient, summary).map_err(bad)
    }

    /// A resource straight from the server, never from the session's directory.
    pub(super) async fn read_fresh(&self, kind: &str, id: &str) -> Result<Value, ApiError> {
        if !fhir::is_fhir_id(id) {
            return Err(not_found());
        }
        self.get(&format!("/{kind}/{id}")).await
    }

    /// Up to three free slots of the same schedule after now, offered when a slot is taken.
    pub(super) async fn alternatives(&self, slot: &fhir::Slot, role_id: &str) -> Vec<Alternative> {
        let Some(schedule) = slot.schedule.id_of("Schedule") else {
            return Vec::new();
        };
        let Ok(list) = self.list_of_role(role_id).await else {
            return Vec::new();
        };
        let Some(doctor) = list.items.iter().find(|d| d.id == role_id) else {
            return Vec::new();
        };
        let now = fairslot_core::encode_component(
            &browser::now_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        let path = format!(
            "/Slot?schedule=Schedule/{schedule}&status=free&start=gt{now}&_sort=start&_count=3"
        );
        let Ok(found) = self.get(&path).await else {
            return Vec::new();
        };
        let Ok(bundle) = Bundle::from_value(found) else {
            return Vec::new();
        };
        let slots: Vec<fhir::Slot> = bundle.resources("Slot").unwrap_or_default();
        let window = Window {
            from: browser::now_utc().date_naive(),
            days: 31,
            utc_offset_minutes: list.hospital.utc_offset_minutes,
        };
        let owner = HashMap::from([(schedule.to_string(), role_id.to_string())]);
        let Ok(schedule) = fhir::schedule(window, vec![doctor.clone()], &owner, &slots) else {
            return Vec::new();
        };
        schedule
            .sessions
            .into_iter()
            .flat_map(|s| {
                let (date, period) = (s.date, s.period);
                s.slots.into_iter().map(move |x| (date, period, x))
            })
            .filter(|(_, _, x)| x.remaining > 0 && Some(&x.id) != slot.id.as_ref())
            .take(fairslot_core::MAX_ALTERNATIVES)
            .map(|(date, period, x)| Alternative {
                slot: x,
                doctor_id: doctor.id.clone(),
                doctor_name: doctor.name.clone(),
                date,
                period,
            })
            .collect()
    }

    /// Claims the slot for `key` with a versioned update. `Err` when it is someone else's, or
    /// when the server gives no version to guard it with.
    async fn claim(&self, slot: &fhir::Slot, key: &str, role: &str) -> Result<(), ApiError> {
        let slot_id = slot.id.as_deref().unwrap_or_default();
        for _ in 0..3 {
            let raw = self
                .read_fresh("Slot", slot_id)
                .await
                .map_err(|e| match e {
                    ApiError::Problem(p) if p.status == 404 => taken(Vec::new()),
                    other => other,
                })?;
            if fhir::claimed_by(&raw) == Some(key) {
                return Ok(());
            }
            let free = raw.get("status").and_then(Value::as_str) == Some("free");
            // A claim left by a client never heard of again, with no booking under its key.
            let abandoned = match fhir::claimed_by(&raw) {
                Some(other) if !free && fhir::claim_is_stale(&raw, browser::now_utc()) => {
                    self.find_by_key(other).await?.is_none()
                }
                _ => false,
            };
            if !free && !abandoned {
                return Err(taken(self.alternatives(slot, role).await));
            }
            // Without a version there is no If-Match, and two bookings could both win.
            let Some(version) = fhir::version_of(&raw) else {
                return Err(unavailable());
            };
            let headers = vec![
                ("Prefer", "return=representation".to_string()),
                ("If-Match", fhir::if_match(version)),
            ];
            let claimed = fhir::claim(&raw, key, browser::now_utc());
            match self
                .send(
                    Method::PUT,
                    &format!("/Slot/{slot_id}"),
                    Some(&claimed),
                    headers,
                )
                .await
            {
                // A server that answered with the slot but without the claim did not keep it.
                Ok(answer)
                    if answer.get("resourceType").and_then(Value::as_str) == Some("Slot")
                        && fhir::claimed_by(&answer) != Some(key) =>
                {
                    return Err(taken(Vec::new()));
                }
                Ok(_) => return Ok(()),
                // Changed since it was read: read it again; it may be this key's own claim.
                Err(ApiError::Server {
                    status: 409 | 412, ..
                }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(taken(Vec::new()))
    }

    /// Whether another system booked the slot while leaving it `free` (many never mark a slot
    /// busy): an active Appointment for it that is not this key's.
    async fn booked_elsewhere(&self, slot_id: &str, key: &str) -> Result<bool, ApiError> {
        let found = self
            .get(&format!("/Appointment?slot=Slot/{slot_id}&_count=50"))
            .await?;
        let bundle = Bundle::from_value(found).map_err(bad)?;
        Ok(bundle.raw("Appointment").into_iter().any(|a| {
            fhir::books_slot(a, slot_id)
                && fhir::is_active_appointment(a)
                && !fhir::has_identifier(a, fhir::BOOKING_KEY_SYSTEM, key)
        }))
    }

    /// Gives a claimed slot back, when the booking it was claimed for could not be made.
    async fn release(&self, slot_id: &str, key: &str) {
        let Ok(raw) = self.read_fresh("Slot", slot_id).await else {
            return;
        };
        if fhir::claimed_by(&raw) != Some(key) {
            return;
        }
        let headers = fhir::version_of(&raw)
            .map(|v| ("If-Match", fhir::if_match(v)))
            .into_iter()
            .collect();
        let path = format!("/Slot/{slot_id}");
        let _ = self
            .send(Method::PUT, &path, Some(&fhir::unclaim(&raw)), headers)
            .await;
    }

    /// The resource of `kind` with exactly this identifier (checked here too), searched with a
    /// POST so the value — a booking key, a secret of the device — is in no URL. `extra` is more
    /// of the form (`&_elements=id`).
    async fn find_by_identifier(
        &self,
        kind: &str,
        system: &str,
        value: &str,
        extra: &str,
    ) -> Result<Option<Value>, ApiError> {
        let form = format!(
            "{}{extra}&_count=10",
            fhir::identifier_condition(system, value)
        );
        let headers = vec![(
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        )];
        let answer = self
            .send_text(Method::POST, &format!("/{kind}/_search"), form, headers)
            .await?;
        let bundle = Bundle::from_value(answer).map_err(bad)?;
        Ok(bundle
            .raw(kind)
            .into_iter()
            .find(|r| fhir::has_identifier(r, system, value))
            .cloned())
    }

    /// The Appointment made under a key, if any.
    pub(super) async fn find_by_key(&self, key: &str) -> Result<Option<Value>, ApiError> {
        self.find_by_identifier("Appointment", fhir::BOOKING_KEY_SYSTEM, key, "")
            .await
    }

    /// The Appointment a booking code names, if any: by the code alone, so without its patient.
    pub(super) async fn find_by_code(&self, code: &str) -> Result<Option<Value>, ApiError> {
        let code = code.trim().to_ascii_uppercase();
        self.find_by_identifier("Appointment", fhir::BOOKING_CODE_SYSTEM, &code, "")
            .await
    }

    /// Creates a resource unless one with the identifier exists; either way returns it.
    async fn create_once(
        &self,
        kind: &str,
        resource: &Value,
        system: &str,
        value: &str,
    ) -> Result<Value, ApiError> {
        let headers = vec![
            ("If-None-Exist", fhir::identifier_condition(system, value)),
            ("Prefer", "return=representation".to_string()),
        ];
        let created = self
            .send(Method::POST, &format!("/{kind}"), Some(resource), headers)
            .await;
        match created {
            Ok(v)
                if v.get("resourceType").and_then(Value::as_str) == Some(kind)
                    && v.get("id").is_some() =>
            {
                Ok(v)
            }
            // Created without a body, or more than one match already: find it.
            Ok(_) | Err(ApiError::Server { status: 412, .. }) => self
                .find_by_identifier(kind, system, value, "")
                .await?
                .ok_or_else(|| ApiError::BadData(format!("{kind} created but not found"))),
            Err(e) => Err(e),
        }
    }

    /// Creates the booking's own Patient unless an earlier try under `key` made it, and returns
    /// its id without reading it back: asked with `Prefer: return=minimal`, the id comes from
    /// `Location`. Only a server that gives neither a Location nor an id (as for a Patient it
    /// found) is searched, by the key and for the id alone (`_elements=id`, which not every
    /// server honours): whatever comes back is what this device sent. Never by the document,
    /// which would show the browser the Patient of anyone whose number was typed.
    async fn create_patient(
        &self,
        patient: &identity::Patient,
        key: &str,
    ) -> Result<String, ApiError> {
        let req = Outgoing {
            method: Method::POST,
            path: "/Patient",
            body: Some(fhir::patient_resource(patient, key).to_string()),
            headers: vec![
                ("If-None-Exist", fhir::booking_condition(key)),
                ("Prefer", "return=minimal".to_string()),
            ],
        };
        let raw = self.transport.fetch(req).await?;
        let location = raw.location.clone();
        match interpret(raw) {
            Ok(body) => {
                if let Some(id) = created_id(location.as_deref(), &body, "Patient") {
                    return Ok(id);
                }
            }
            // More than one Patient under the key (a server that let two tries both create one):
            // either is this booking's.
            Err(ApiError::Server { status: 412, .. }) => {}
            Err(e) => return Err(e),
        }
        self.find_by_identifier("Patient", fhir::BOOKING_KEY_SYSTEM, key, "&_elements=id")
            .await?
            .and_then(|p| p.get("id").and_then(Value::as_str).map(str::to_string))
            .filter(|id| fhir::is_fhir_id(id))
            .ok_or_else(|| ApiError::BadData("Patient created but not found".into()))
    }

    pub(super) async fn book_once(
        &self,
        request: BookingRequest,
        key: String,
    ) -> Result<Booking, ApiError> {
        if let Some(existing) = self.find_by_key(&key).await? {
            return self
                .booking_of(existing, masked_request(&request.patient))
                .await;
        }
        // Everything that can be known before the claim is known before it, so that nothing
        // after it fails for a reason a retry would meet again.
        let slot: fhir::Slot = typed(
            self.read_fresh("Slot", &request.slot_id)
                .await
                .map_err(|e| match e {
                    ApiError::Problem(p) if p.status == 404 => taken(Vec::new()),
                    other => other,
                })?,
            "Slot",
        )?;
        let role = self.role_of_slot(&slot).await?;
        let list = self.list_of_role(&role).await?;
        let what = format!("Slot/{}", request.slot_id);
        let start = fhir::instant(slot.start.as_deref(), &what).map_err(bad)?;
        let end = fhir::instant(slot.end.as_deref(), &what).map_err(bad)?;
        // The FHIR server will not check a resident ID's check character: checked here, as the
        // reference API does, and stored normalised.
        let today = hospital_today(browser::now_utc(), list.hospital.utc_offset_minutes);
        let patient = identity::Patient::validate(&request.patient, today).map_err(|errors| {
            let mut p = fhir::problem(ProblemKind::Validation);
            p.errors = errors;
            ApiError::Problem(Box::new(p))
        })?;

        self.claim(&slot, &key, &role).await?;
        let made = async {
            if self.booked_elsewhere(&request.slot_id, &key).await? {
                return Err(taken(Vec::new()));
            }
            let patient_id = self.create_patient(&patient, &key).await?;
            let patient_id = patient_id.as_str();
            let appointment = fhir::appointment_resource(&fhir::AppointmentDraft {
                key: &key,
                channel: &self.channel,
                slot_id: &request.slot_id,
                start,
                end,
                patient_id,
                role_id: &role,
                created: browser::now_utc(),
            });
            let stored = self
                .create_once("Appointment", &appointment, fhir::BOOKING_KEY_SYSTEM, &key)
                .await
                .map_err(|e| match e {
                    // The server's own word that the slot is gone (a conflict, a failed
                    // precondition, a business rule): the same refusal as a lost claim.
                    ApiError::Server {
                        status: 409 | 412 | 422,
                        ..
                    } => taken(Vec::new()),
                    other => other,
                })?;
            Ok::<_, ApiError>(stored)
        }
        .await;
        // The ticket shows the patient as the app sent them, masked.
        let masked = fhir::masked_input(&patient);
        match made {
            Ok(stored) => self.booking_of(stored, masked).await,
            // Refused outright: unless an earlier try's Appointment turned up after all, the slot
            // goes back. An outage or a lost answer keeps the claim for the retry with this key.
            Err(e) if is_refusal(&e) => {
                if let Ok(Some(existing)) = self.find_by_key(&key).await {
                    return self.booking_of(existing, masked).await;
                }
                self.release(&request.slot_id, &key).await;
                match e {
                    ApiError::Problem(mut p) if p.kind() == Some(ProblemKind::SlotTaken) => {
                        p.alternatives = self.alternatives(&slot, &role).await;
                        Err(ApiError::Problem(p))
                    }
                    other => Err(other),
                }
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_created_patient_is_known_by_location_or_id_and_nothing_else() {
        let empty = Value::Null;
        assert_eq!(
            created_id(Some("/fhir/Patient/p1/_history/3"), &empty, "Patient").as_deref(),
            Some("p1")
        );
        // A server that ignores return=minimal names it in the body.
        let body = json!({"resourceType": "Patient", "id": "p2"});
        assert_eq!(created_id(None, &body, "Patient").as_deref(), Some("p2"));
        assert_eq!(
            created_id(None, &json!({"id": "p3"}), "Patient").as_deref(),
            Some("p3")
        );
        // The Location wins over a body; nothing usable is nothing.
        assert_eq!(
            created_id(Some("Patient/p4"), &body, "Patient").as_deref(),
            Some("p4")
        );
        for (location, body) in [
            (None, Value::Null),
            (Some("/fhir/Appointment/a1"), Value::Null),
            (
                None,
                json!({"resourceType": "OperationOutcome", "id": "oo"}),
            ),
            (None, json!({"id": "../x"})),
            (None, json!({"id": 7})),
        ] {
            assert_eq!(created_id(location, &body, "Patient"), None, "{body}");
        }
    }
}
