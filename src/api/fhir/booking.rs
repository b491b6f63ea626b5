//! Booking, lookup and cancelling through FHIR, following the protocol in
//! [`fairslot_core::fhir`]'s `write` module: claim the Slot with a versioned update, then create the
//! booking's own Patient and the Appointment conditionally, all under the booking's key.
//!
//! Nothing the server answers is taken on trust: search answers are checked for the identifier
//! asked for, a claim that the server did not keep counts as lost, and a slot already booked by
//! another system is refused even when the server left it `free`.

use chrono::{DateTime, FixedOffset};
use fairslot_core::fhir::booking::{self, Command, Ending, Event, Failed, Lost, Refusal, Reply};
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

    /// Searches `kind` by one identifier, with a POST so the value — a booking key, a secret of
    /// the device — is in no URL. `extra` is more of the form (`&_elements=id`).
    async fn search_identifier(
        &self,
        kind: &str,
        system: &str,
        value: &str,
        extra: &str,
    ) -> Result<Value, ApiError> {
        let form = format!(
            "{}{extra}&_count=10",
            fhir::identifier_condition(system, value)
        );
        let headers = vec![(
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        )];
        self.send_text(Method::POST, &format!("/{kind}/_search"), form, headers)
            .await
    }

    /// The resource of `kind` with exactly this identifier (checked here too).
    async fn find_by_identifier(
        &self,
        kind: &str,
        system: &str,
        value: &str,
    ) -> Result<Option<Value>, ApiError> {
        let answer = self.search_identifier(kind, system, value, "").await?;
        booking::found_by_identifier(answer, kind, system, value).map_err(bad)
    }

    /// The Appointment made under a key, if any.
    pub(super) async fn find_by_key(&self, key: &str) -> Result<Option<Value>, ApiError> {
        self.find_by_identifier("Appointment", fhir::BOOKING_KEY_SYSTEM, key)
            .await
    }

    /// The Appointment a booking code names, if any: by the code alone, so without its patient.
    pub(super) async fn find_by_code(&self, code: &str) -> Result<Option<Value>, ApiError> {
        let code = code.trim().to_ascii_uppercase();
        self.find_by_identifier("Appointment", fhir::BOOKING_CODE_SYSTEM, &code)
            .await
    }

    /// What the Appointment needs, read and checked before anything is written, so that nothing
    /// after the claim fails for a reason a retry would meet again.
    async fn prepare(&self, request: &BookingRequest) -> Result<Prepared, ApiError> {
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
        Ok(Prepared {
            slot,
            role,
            start,
            end,
            patient,
        })
    }

    /// Makes the request a command of the protocol asks for.
    async fn perform(
        &self,
        command: Command,
        slot_id: &str,
        key: &str,
        prepared: Option<&Prepared>,
    ) -> Result<Reply, ApiError> {
        let slot_path = format!("/Slot/{slot_id}");
        let body = match command {
            Command::SearchByKey { key } => {
                self.search_identifier("Appointment", fhir::BOOKING_KEY_SYSTEM, &key, "")
                    .await?
            }
            Command::ReadSlot => self.read_fresh("Slot", slot_id).await?,
            Command::ClaimSlot { slot, version } => {
                let headers = vec![
                    ("Prefer", "return=representation".to_string()),
                    ("If-Match", fhir::if_match(&version)),
                ];
                self.send(Method::PUT, &slot_path, Some(&slot), headers)
                    .await?
            }
            Command::ReleaseSlot { slot, version } => {
                let headers = version
                    .map(|v| ("If-Match", fhir::if_match(&v)))
                    .into_iter()
                    .collect();
                self.send(Method::PUT, &slot_path, Some(&slot), headers)
                    .await?
            }
            Command::SearchSlotBookings => {
                self.get(&format!("/Appointment?slot=Slot/{slot_id}&_count=50"))
                    .await?
            }
            // Asked with `Prefer: return=minimal`, the id comes from `Location`; only a server
            // that gives neither a Location nor an id is searched, by the key and for the id
            // alone. Never by the document, which would show the browser the Patient of anyone
            // whose number was typed.
            Command::CreatePatient => {
                let prepared = prepared.ok_or_else(unprepared)?;
                let req = Outgoing {
                    method: Method::POST,
                    path: "/Patient",
                    body: Some(fhir::patient_resource(&prepared.patient, key).to_string()),
                    headers: vec![
                        ("If-None-Exist", fhir::booking_condition(key)),
                        ("Prefer", "return=minimal".to_string()),
                    ],
                };
                let raw = self.transport.fetch(req).await?;
                let location = raw.location.clone();
                return interpret(raw).map(|body| Reply { body, location });
            }
            Command::FindPatient => {
                self.search_identifier("Patient", fhir::BOOKING_KEY_SYSTEM, key, "&_elements=id")
                    .await?
            }
            Command::CreateAppointment { patient_id } => {
                let prepared = prepared.ok_or_else(unprepared)?;
                let appointment = fhir::appointment_resource(&fhir::AppointmentDraft {
                    key,
                    channel: &self.channel,
                    slot_id,
                    start: prepared.start,
                    end: prepared.end,
                    patient_id: &patient_id,
                    role_id: &prepared.role,
                    created: browser::now_utc(),
                });
                let headers = vec![
                    ("If-None-Exist", fhir::booking_condition(key)),
                    ("Prefer", "return=representation".to_string()),
                ];
                self.send(Method::POST, "/Appointment", Some(&appointment), headers)
                    .await?
            }
            Command::Prepare | Command::Finish(_) => return Err(unprepared()),
        };
        Ok(Reply {
            body,
            location: None,
        })
    }

    /// Books under `key` by driving [`booking::Attempt`]: it decides, this makes the requests.
    pub(super) async fn book_once(
        &self,
        request: BookingRequest,
        key: String,
    ) -> Result<Booking, ApiError> {
        let mut attempt = booking::Attempt::new(key.clone(), request.slot_id.clone());
        let mut command = attempt.start();
        let mut prepared = None;
        loop {
            let event = match command {
                Command::Finish(ending) => {
                    return self.ended(ending, prepared.as_ref(), &request).await;
                }
                Command::Prepare => {
                    prepared = Some(self.prepare(&request).await?);
                    Event::Prepared
                }
                request_command => Event::Answered(
                    self.perform(request_command, &request.slot_id, &key, prepared.as_ref())
                        .await
                        .map_err(failed_of),
                ),
            };
            command = attempt.handle(event, browser::now_utc());
        }
    }

    /// What the patient is told of a try's ending.
    async fn ended(
        &self,
        ending: Ending,
        prepared: Option<&Prepared>,
        request: &BookingRequest,
    ) -> Result<Booking, ApiError> {
        match ending {
            // The ticket shows the patient as the app sent them, masked.
            Ending::Booked(stored) => {
                let masked = match prepared {
                    Some(p) => fhir::masked_input(&p.patient),
                    None => masked_request(&request.patient),
                };
                self.booking_of(stored, masked).await
            }
            Ending::Refused(Refusal::Taken { alternatives }) => {
                let offered = match prepared {
                    Some(p) if alternatives => self.alternatives(&p.slot, &p.role).await,
                    _ => Vec::new(),
                };
                Err(taken(offered))
            }
            Ending::Refused(Refusal::Unguarded) => Err(unavailable()),
            Ending::Refused(Refusal::Failed(failed)) | Ending::Unsettled(failed) => {
                Err(error_of(failed))
            }
        }
    }
}

/// What [`FhirApi::prepare`] read and checked.
struct Prepared {
    slot: fhir::Slot,
    role: String,
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    patient: identity::Patient,
}

fn unprepared() -> ApiError {
    ApiError::BadData("booking request before its details were read".into())
}

/// An adapter's failure as the protocol reads it; [`error_of`] gives it back unchanged.
fn failed_of(e: ApiError) -> Failed {
    match e {
        ApiError::Problem(p) => Failed::Status {
            status: p.status,
            retry_after: None,
        },
        ApiError::Server {
            status,
            retry_after,
        } => Failed::Status {
            status,
            retry_after,
        },
        ApiError::NotSent => Failed::Lost(Lost::NotSent),
        ApiError::Network => Failed::Lost(Lost::NoAnswer),
        ApiError::Timeout => Failed::Lost(Lost::TimedOut),
        ApiError::BadData(why) => Failed::Unreadable(why),
    }
}

/// A failure of the protocol as the error the pages explain, the same [`interpret`] gives.
fn error_of(failed: Failed) -> ApiError {
    match failed {
        Failed::Status {
            status: 404 | 410, ..
        } => not_found(),
        Failed::Status {
            status,
            retry_after,
        } => ApiError::Server {
            status,
            retry_after,
        },
        Failed::Lost(Lost::NotSent) => ApiError::NotSent,
        Failed::Lost(Lost::NoAnswer) => ApiError::Network,
        Failed::Lost(Lost::TimedOut) => ApiError::Timeout,
        Failed::Unreadable(why) => ApiError::BadData(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_back_as_the_error_it_was() {
        for e in [
            not_found(),
            ApiError::Server {
                status: 503,
                retry_after: Some("7".into()),
            },
            ApiError::Server {
                status: 409,
                retry_after: None,
            },
            ApiError::NotSent,
            ApiError::Network,
            ApiError::Timeout,
            ApiError::BadData("no Bundle".into()),
        ] {
            assert_eq!(error_of(failed_of(e.clone())), e);
        }
    }
}
