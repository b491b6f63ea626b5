//! Adapter for HL7 FHIR R4 scheduling servers. The mapping rules live in
//! [`fairslot_core::fhir`]; this module decides which requests to make.
//!
//! It assumes as little as it can of the server: it follows `Bundle.link[next]` and falls back to
//! `_offset` paging; it asks for `_include` and reads what was not included; it guards a slot with
//! a versioned update of the Slot itself, since many servers never mark a booked slot busy. FHIR
//! has no standard hold, so [`BookingApi::holds`] is false and the booking page goes without one.

use chrono::{DateTime, FixedOffset, NaiveDate};
use fairslot_core::fhir::gateway::{
    CANCEL_OPERATION, LOOKUP_OPERATION, OwnedAppointment, OwnedRequest,
};
use fairslot_core::fhir::{
    self, Bundle, DepartmentRef, FhirError, HealthcareService, Organization, Practitioner,
    PractitionerRole, Window,
};
use fairslot_core::{
    Alternative, Booking, BookingRequest, DepartmentTree, Doctor, DoctorList, Hold, HospitalList,
    ProblemKind, Schedule, encode_component as enc,
};
use gloo_net::http::Method;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::http::{Outgoing, RawResponse};
use super::{ApiError, ApiFuture, BookingApi, CodeAccess, KeyedAnswer, ScheduleTarget, Transport};

mod booking;

/// Most pages one search follows; a server that keeps linking beyond is not trusted further.
const MAX_PAGES: usize = 250;
/// Most references joined into one search parameter, to keep URLs short.
const CHUNK: usize = 30;
/// Hospitals listed by the hospital search: Organizations of the standard type "prov".
const HOSPITAL_TYPE: &str = "http://terminology.hl7.org/CodeSystem/organization-type|prov";
/// Directory resources kept for the session once read: they change rarely and every page needs
/// them again.
const DIRECTORY: [&str; 5] = [
    "Organization",
    "HealthcareService",
    "PractitionerRole",
    "Practitioner",
    "Schedule",
];

pub struct FhirApi {
    transport: Transport,
    channel: String,
    /// Whether the reference server's gateway stands in front of the FHIR server (`api.gateway`):
    /// lookup and cancel then go through its operations, proven there.
    gateway: bool,
    /// Directory resources by `Type/id`.
    resources: Mutex<HashMap<String, Value>>,
    /// Doctor lists by department id.
    lists: Mutex<HashMap<String, DoctorList>>,
    /// What the server's CapabilityStatement said about booking, once it said something.
    bookable: Mutex<Option<bool>>,
}

fn not_found() -> ApiError {
    ApiError::Problem(Box::new(fhir::problem(ProblemKind::NotFound)))
}

fn bad(e: FhirError) -> ApiError {
    ApiError::BadData(e.to_string())
}

fn typed<T: serde::de::DeserializeOwned>(value: Value, kind: &str) -> Result<T, ApiError> {
    fhir::read_resource(value, kind).map_err(bad)
}

fn of_type<T: serde::de::DeserializeOwned>(
    found: &[Value],
    kind: &str,
) -> Result<Vec<T>, ApiError> {
    found
        .iter()
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some(kind))
        .map(|r| typed(r.clone(), kind))
        .collect()
}

fn key_of(resource: &Value) -> Option<String> {
    let kind = resource.get("resourceType")?.as_str()?;
    let id = resource.get("id")?.as_str()?;
    Some(format!("{kind}/{id}"))
}

/// Reads an answer: the JSON on success, and the same errors the native adapter gives otherwise.
fn interpret(raw: RawResponse) -> Result<Value, ApiError> {
    if (200..300).contains(&raw.status) {
        if raw.body.trim().is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_str(&raw.body).map_err(|e| ApiError::BadData(e.to_string()));
    }
    if raw.is_outage() {
        return Err(ApiError::Server {
            status: raw.status,
            retry_after: raw.retry_after,
        });
    }
    if matches!(raw.status, 404 | 410) {
        return Err(not_found());
    }
    Err(ApiError::Server {
        status: raw.status,
        retry_after: None,
    })
}

fn taken(alternatives: Vec<Alternative>) -> ApiError {
    let mut p = fhir::problem(ProblemKind::SlotTaken);
    p.alternatives = alternatives;
    ApiError::Problem(Box::new(p))
}

impl FhirApi {
    pub fn new(transport: Transport, channel: String, gateway: bool) -> Self {
        Self {
            transport,
            channel,
            gateway,
            resources: Mutex::new(HashMap::new()),
            lists: Mutex::new(HashMap::new()),
            bookable: Mutex::new(None),
        }
    }

    fn remember(&self, resource: &Value) {
        let Some(key) = key_of(resource) else { return };
        if DIRECTORY.iter().any(|k| key.starts_with(&format!("{k}/")))
            && let Ok(mut map) = self.resources.lock()
        {
            map.insert(key, resource.clone());
        }
    }

    fn remembered(&self, key: &str) -> Option<Value> {
        self.resources.lock().ok()?.get(key).cloned()
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Value, ApiError> {
        let req = Outgoing {
            method,
            path,
            body: body.map(Value::to_string),
            headers,
        };
        interpret(self.transport.fetch(req).await?)
    }

    /// Sends a body that is not JSON (a search form); `headers` name its type.
    async fn send_text(
        &self,
        method: Method,
        path: &str,
        body: String,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Value, ApiError> {
        let req = Outgoing {
            method,
            path,
            body: Some(body),
            headers,
        };
        interpret(self.transport.fetch(req).await?)
    }

    async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.send(Method::GET, path, None, Vec::new()).await
    }

    /// One resource, from the session's directory when it was read before.
    async fn read(&self, kind: &str, id: &str) -> Result<Value, ApiError> {
        if !fhir::is_fhir_id(id) {
            return Err(not_found());
        }
        let key = format!("{kind}/{id}");
        if let Some(v) = self.remembered(&key) {
            return Ok(v);
        }
        let value = self.get(&format!("/{key}")).await?;
        self.remember(&value);
        Ok(value)
    }

    /// Every resource a search returns, across its pages.
    async fn search(&self, kind: &str, query: &str) -> Result<Vec<Value>, ApiError> {
        let first = format!("/{kind}?{query}");
        let mut path = first.clone();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let bundle = Bundle::from_value(self.get(&path).await?).map_err(bad)?;
            let mut new_matches = 0usize;
            for resource in bundle.entry.into_iter().filter_map(|e| e.resource) {
                let is_match = resource.get("resourceType").and_then(Value::as_str) == Some(kind);
                let key = key_of(&resource);
                if is_match && key.as_ref().is_some_and(|k| !seen.insert(k.clone())) {
                    continue;
                }
                new_matches += usize::from(is_match);
                self.remember(&resource);
                out.push(resource);
            }
            // A server that ignores the page asked for sends the same one again: stop there.
            if new_matches == 0 {
                return Ok(out);
            }
            let next = bundle.link.iter().find_map(|l| {
                (l.relation.as_deref() == Some("next"))
                    .then(|| l.url.as_deref().and_then(|u| self.transport.relative(u)))
                    .flatten()
            });
            let more = bundle.total.is_some_and(|t| (seen.len() as u64) < t);
            path = match next {
                Some(next) => next,
                None if more => format!("{first}&_offset={}", seen.len()),
                None => return Ok(out),
            };
        }
        Err(ApiError::BadData(format!(
            "{kind} search has too many pages"
        )))
    }

    async fn load_hospitals(&self) -> Result<HospitalList, ApiError> {
        let query = format!("type={}&_count=100", enc(HOSPITAL_TYPE));
        let found = self.search("Organization", &query).await?;
        let orgs: Vec<Organization> = of_type(&found, "Organization")?;
        let items = fhir::hospitals(&orgs).map_err(bad)?;
        Ok(HospitalList { items })
    }

    async fn load_departments(&self, id: &str) -> Result<DepartmentTree, ApiError> {
        let org: Organization = typed(self.read("Organization", id).await?, "Organization")?;
        if org.part_of.is_some() {
            return Err(not_found());
        }
        let hospital = fhir::hospital(&org).map_err(bad)?;
        let reference = enc(&format!("Organization/{id}"));
        let (services, groups) = futures::future::join(
            self.search(
                "HealthcareService",
                &format!("organization={reference}&_count=200"),
            ),
            self.search("Organization", &format!("partof={reference}&_count=200")),
        )
        .await;
        let services: Vec<HealthcareService> = of_type(&services?, "HealthcareService")?;
        let groups: Vec<Organization> = of_type(&groups?, "Organization")?;
        let group_refs: Vec<String> = groups
            .iter()
            .filter_map(|g| g.id.as_deref())
            .filter(|g| fhir::is_fhir_id(g))
            .map(|g| format!("Organization/{g}"))
            .collect();
        let mut children = Vec::new();
        for chunk in group_refs.chunks(CHUNK) {
            let query = format!("partof={}&_count=500", chunk.join(","));
            children.extend(of_type(
                &self.search("Organization", &query).await?,
                "Organization",
            )?);
        }
        fhir::department_tree(hospital, &services, &groups, &children).map_err(bad)
    }

    /// The hospital an Organization belongs to: itself, or the top of its `partOf` chain.
    async fn hospital_of(&self, org_id: &str) -> Result<fairslot_core::Hospital, ApiError> {
        let mut id = org_id.to_string();
        for _ in 0..6 {
            let org: Organization = typed(self.read("Organization", &id).await?, "Organization")?;
            match org.part_of.as_ref().and_then(|p| p.id_of("Organization")) {
                Some(parent) => id = parent.to_string(),
                None => return fhir::hospital(&org).map_err(bad),
            }
        }
        Err(ApiError::BadData(
            "Organization partOf chain too deep".into(),
        ))
    }

    async fn doctor_list(&self, department_id: &str) -> Result<DoctorList, ApiError> {
        if let Some(list) = self
            .lists
            .lock()
            .ok()
            .and_then(|m| m.get(department_id).cloned())
        {
            return Ok(list);
        }
        let dept = DepartmentRef::parse(department_id).ok_or_else(not_found)?;
        let (department, hospital, by) = match &dept {
            DepartmentRef::Service(id) => {
                let hs: HealthcareService = typed(
                    self.read("HealthcareService", id).await?,
                    "HealthcareService",
                )?;
                let owner = hs
                    .provided_by
                    .as_ref()
                    .and_then(|r| r.id_of("Organization"));
                let hospital = self.hospital_of(owner.ok_or_else(not_found)?).await?;
                (
                    fhir::service_department(&hs).map_err(bad)?,
                    hospital,
                    "service",
                )
            }
            DepartmentRef::Organization(id) => {
                let org: Organization =
                    typed(self.read("Organization", id).await?, "Organization")?;
                // A hospital is not one of its own departments.
                let parent = org.part_of.as_ref().and_then(|p| p.id_of("Organization"));
                let hospital = self.hospital_of(parent.ok_or_else(not_found)?).await?;
                (
                    fhir::org_department(&org).map_err(bad)?,
                    hospital,
                    "organization",
                )
            }
        };
        let query = format!(
            "{by}={}&_include=PractitionerRole:practitioner&_count=200",
            enc(&dept.reference())
        );
        let found = self.search("PractitionerRole", &query).await?;
        let roles: Vec<PractitionerRole> = of_type(&found, "PractitionerRole")?;
        let mut people: Vec<Practitioner> = of_type(&found, "Practitioner")?;
        // Servers that ignore _include: read the practitioners in one more search.
        let missing: Vec<String> = roles
            .iter()
            .filter_map(|r| r.practitioner.as_ref()?.id_of("Practitioner"))
            .filter(|id| fhir::is_fhir_id(id))
            .filter(|id| !people.iter().any(|p| p.id.as_deref() == Some(id)))
            .map(str::to_string)
            .collect();
        for chunk in missing.chunks(CHUNK) {
            let found = self
                .search("Practitioner", &format!("_id={}", chunk.join(",")))
                .await?;
            people.extend(of_type::<Practitioner>(&found, "Practitioner")?);
        }
        let mut items = Vec::new();
        for role in &roles {
            let person = role
                .practitioner
                .as_ref()
                .and_then(|r| r.id_of("Practitioner"))
                .and_then(|id| people.iter().find(|p| p.id.as_deref() == Some(id)));
            if let Some(d) = fhir::doctor(role, person, &hospital.id, department_id).map_err(bad)? {
                items.push(d);
            }
        }
        let list = DoctorList {
            department,
            hospital,
            items,
        };
        if let Ok(mut map) = self.lists.lock() {
            map.insert(department_id.to_string(), list.clone());
        }
        Ok(list)
    }

    /// The doctor list a PractitionerRole appears in.
    async fn list_of_role(&self, role_id: &str) -> Result<DoctorList, ApiError> {
        let known = self.lists.lock().ok().and_then(|m| {
            m.values()
                .find(|l| l.items.iter().any(|d| d.id == role_id))
                .cloned()
        });
        if let Some(list) = known {
            return Ok(list);
        }
        let role: PractitionerRole = typed(
            self.read("PractitionerRole", role_id).await?,
            "PractitionerRole",
        )?;
        let dept = match role
            .healthcare_service
            .iter()
            .find_map(|r| r.id_of("HealthcareService"))
        {
            Some(id) => DepartmentRef::Service(id.to_string()),
            None => {
                let org = role
                    .organization
                    .as_ref()
                    .and_then(|r| r.id_of("Organization"));
                DepartmentRef::Organization(org.ok_or_else(not_found)?.to_string())
            }
        };
        self.doctor_list(&dept.id()).await
    }

    /// Which doctor each Schedule of these doctors belongs to, by Schedule id.
    async fn owners(&self, doctors: &[Doctor]) -> Result<HashMap<String, String>, ApiError> {
        let mut by_actor: HashMap<String, String> = HashMap::new();
        for d in doctors {
            by_actor.insert(format!("PractitionerRole/{}", d.id), d.id.clone());
            let role = self.remembered(&format!("PractitionerRole/{}", d.id));
            let person = role.and_then(|r| {
                r.get("practitioner")?
                    .get("reference")?
                    .as_str()
                    .map(String::from)
            });
            if let Some(p) = person.filter(|p| p.starts_with("Practitioner/")) {
                by_actor.entry(p).or_insert_with(|| d.id.clone());
            }
        }
        let actors: Vec<&String> = by_actor.keys().collect();
        let mut owner = HashMap::new();
        for chunk in actors.chunks(CHUNK) {
            let list: Vec<String> = chunk.iter().map(|a| a.to_string()).collect();
            let found = self
                .search("Schedule", &format!("actor={}&_count=200", list.join(",")))
                .await?;
            for s in of_type::<fhir::Schedule>(&found, "Schedule")? {
                if s.active == Some(false) {
                    continue;
                }
                // A Schedule of a PractitionerRole belongs to that role or to nobody here; only
                // a Schedule without one is matched by its Practitioner.
                let roles: Vec<&str> = s
                    .actor
                    .iter()
                    .filter_map(|a| a.id_of("PractitionerRole"))
                    .collect();
                let doctor = if roles.is_empty() {
                    s.actor.iter().find_map(|a| {
                        let id = a.id_of("Practitioner")?;
                        by_actor.get(&format!("Practitioner/{id}"))
                    })
                } else {
                    roles
                        .iter()
                        .find_map(|r| by_actor.get(&format!("PractitionerRole/{r}")))
                };
                let id = s.id.filter(|id| fhir::is_fhir_id(id));
                if let (Some(id), Some(doctor)) = (id, doctor) {
                    owner.insert(id, doctor.clone());
                }
            }
        }
        Ok(owner)
    }

    async fn schedule_of(
        &self,
        target: ScheduleTarget,
        from: NaiveDate,
        days: u32,
    ) -> Result<Schedule, ApiError> {
        let (list, doctors) = match &target {
            ScheduleTarget::Department(d) => {
                let list = self.doctor_list(d).await?;
                let doctors = list.items.clone();
                (list, doctors)
            }
            ScheduleTarget::Doctor(role) => {
                let list = self.list_of_role(role).await?;
                let doctors = list
                    .items
                    .iter()
                    .filter(|d| &d.id == role)
                    .cloned()
                    .collect();
                (list, doctors)
            }
        };
        let window = Window {
            from,
            days,
            utc_offset_minutes: list.hospital.utc_offset_minutes,
        };
        let owner = self.owners(&doctors).await?;
        let offset = fairslot_core::time::offset(window.utc_offset_minutes);
        let bound = |date: NaiveDate| day_start(date, offset).map(|t| t.to_rfc3339());
        let end_date = from + chrono::Days::new(days.into());
        let (Some(start), Some(end)) = (bound(from), bound(end_date)) else {
            return Err(ApiError::BadData("schedule window out of range".into()));
        };
        let ids: Vec<String> = owner.keys().map(|id| format!("Schedule/{id}")).collect();
        let mut slots = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let query = format!(
                "schedule={}&start=ge{}&start=lt{}&_count=500",
                chunk.join(","),
                enc(&start),
                enc(&end)
            );
            let found = self.search("Slot", &query).await?;
            slots.extend(of_type::<fhir::Slot>(&found, "Slot")?);
        }
        fhir::schedule(window, doctors, &owner, &slots).map_err(bad)
    }
}

/// A gateway operation's request: `POST {base}{operation}` with the code and proof as JSON, in
/// the body since proxies log URLs.
fn owned_request<'a>(
    operation: &'a str,
    code: &str,
    last4: &str,
) -> Result<Outgoing<'a>, ApiError> {
    let body = OwnedRequest {
        code: code.to_string(),
        document_last4: last4.to_string(),
    };
    Ok(Outgoing {
        method: Method::POST,
        path: operation,
        body: Some(serde_json::to_string(&body).map_err(|e| ApiError::BadData(e.to_string()))?),
        headers: vec![
            ("Content-Type", "application/json".to_string()),
            (
                "Accept",
                "application/json, application/problem+json".to_string(),
            ),
        ],
    })
}

impl FhirApi {
    /// A booking by code and proof through one of the gateway's operations: the proof is checked,
    /// counted and locked there, and the patient comes back masked. Refusals are the reference
    /// API's problem details, read as the native adapter reads them.
    async fn owned(&self, operation: &str, code: &str, last4: &str) -> Result<Booking, ApiError> {
        let raw = self
            .transport
            .fetch(owned_request(operation, code, last4)?)
            .await?;
        let answer: OwnedAppointment = super::http::interpret(raw)?;
        self.booking_of(answer.appointment, answer.patient).await
    }
}

/// The start of a day in a hospital's offset, for slot searches.
fn day_start(date: NaiveDate, offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    date.and_hms_opt(0, 0, 0)?
        .and_local_timezone(offset)
        .single()
}

/// FHIR has no hold: the slot is taken on confirming.
pub const HOLDS: bool = false;

/// A proof can be checked only by the gateway: the browser must not read the Patient it is
/// checked against.
pub fn code_access(gateway: bool) -> CodeAccess {
    if gateway {
        CodeAccess::Proven
    } else {
        CodeAccess::CodeOnly
    }
}

impl BookingApi for FhirApi {
    fn holds(&self) -> bool {
        HOLDS
    }

    fn code_access(&self) -> CodeAccess {
        code_access(self.gateway)
    }

    fn takes_bookings(&self) -> ApiFuture<'_, bool> {
        Box::pin(async move {
            if let Some(known) = self.bookable.lock().ok().and_then(|b| *b) {
                return Ok(known);
            }
            let said = self
                .get("/metadata")
                .await
                .ok()
                .and_then(|v| fhir::takes_bookings(&v));
            if let (Some(said), Ok(mut b)) = (said, self.bookable.lock()) {
                *b = Some(said);
            }
            Ok(said.unwrap_or(true))
        })
    }

    fn hospitals(&self) -> ApiFuture<'_, HospitalList> {
        Box::pin(self.load_hospitals())
    }

    fn departments(&self, hospital_id: &str) -> ApiFuture<'_, DepartmentTree> {
        let id = hospital_id.to_string();
        Box::pin(async move { self.load_departments(&id).await })
    }

    fn doctors(&self, department_id: &str) -> ApiFuture<'_, DoctorList> {
        let id = department_id.to_string();
        Box::pin(async move {
            // Asked of the server on purpose: the session's copy serves the adapter's own reads,
            // and a refresh of the device's copy must not be answered by it.
            if let Ok(mut map) = self.lists.lock() {
                map.remove(&id);
            }
            self.doctor_list(&id).await
        })
    }

    fn schedule(
        &self,
        target: ScheduleTarget,
        from: NaiveDate,
        days: u32,
    ) -> ApiFuture<'_, Schedule> {
        Box::pin(self.schedule_of(target, from, days))
    }

    fn hold(&self, _slot_id: &str) -> ApiFuture<'_, Hold> {
        // Never asked for: `holds()` is false. Answer as a server without the operation would.
        Box::pin(async {
            Err(ApiError::Server {
                status: 501,
                retry_after: None,
            })
        })
    }

    fn release_hold(&self, _hold_id: &str) -> ApiFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn book(&self, request: BookingRequest, idempotency_key: String) -> ApiFuture<'_, Booking> {
        Box::pin(self.book_once(request, idempotency_key))
    }

    /// A FHIR server answers by key with the Appointment itself: the proof is not needed, and
    /// the patient is not shown (the device no longer holds them).
    fn booking_by_key(
        &self,
        idempotency_key: &str,
        _document_last4: Option<&str>,
    ) -> ApiFuture<'_, KeyedAnswer> {
        let key = idempotency_key.to_string();
        Box::pin(async move {
            match self.find_by_key(&key).await? {
                Some(appointment) => self
                    .booking_of(appointment, fhir::masked_patient(None))
                    .await
                    .map(|b| KeyedAnswer::Booking(Box::new(b))),
                None => Err(not_found()),
            }
        })
    }

    fn lookup(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        let (code, last4) = (code.to_string(), document_last4.to_string());
        Box::pin(async move {
            match code_access(self.gateway) {
                CodeAccess::Proven => self.owned(LOOKUP_OPERATION, &code, &last4).await,
                CodeAccess::CodeOnly => {
                    let appointment = self.find_by_code(&code).await?.ok_or_else(not_found)?;
                    self.booking_of(appointment, fhir::masked_patient(None))
                        .await
                }
            }
        })
    }

    fn cancel(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        let (code, last4) = (code.to_string(), document_last4.to_string());
        Box::pin(async move {
            match code_access(self.gateway) {
                CodeAccess::Proven => self.owned(CANCEL_OPERATION, &code, &last4).await,
                // Never offered: without the gateway nobody can check the proof. Answered as a
                // server without the operation would.
                CodeAccess::CodeOnly => Err(ApiError::Server {
                    status: 501,
                    retry_after: None,
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            content_type: "application/fhir+json".into(),
            retry_after: Some("3".into()),
            location: None,
            body: body.into(),
        }
    }

    #[test]
    fn gateway_operations_carry_code_and_proof_in_a_json_body() {
        let req = owned_request(CANCEL_OPERATION, "K7Q4-M2XP", "002X").unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.path, "/Appointment/$fairslot-cancel");
        assert_eq!(
            serde_json::from_str::<Value>(req.body.as_deref().unwrap()).unwrap(),
            serde_json::json!({"code": "K7Q4-M2XP", "document_last4": "002X"})
        );
        assert!(
            req.headers
                .contains(&("Content-Type", "application/json".to_string()))
        );
    }

    #[test]
    fn gateway_refusals_read_as_the_native_apis() {
        use fairslot_core::ProblemKind;
        let problem = |status: u16, slug: &str, extra: &str| RawResponse {
            status,
            content_type: "application/problem+json".into(),
            retry_after: (status == 429).then(|| "600".into()),
            location: None,
            body: format!(
                r#"{{"type":"urn:fairslot:problem:{slug}","title":"t","status":{status}{extra}}}"#
            ),
        };
        let read = |raw| super::super::http::interpret::<OwnedAppointment>(raw).unwrap_err();
        let kind = |e: ApiError| match e {
            ApiError::Problem(p) => p.kind(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            kind(read(problem(404, "not-found", ""))),
            Some(ProblemKind::NotFound)
        );
        assert_eq!(
            kind(read(problem(409, "cancel-closed", ""))),
            Some(ProblemKind::CancelClosed)
        );
        // A locked code is a refusal that says until when, not an outage to retry.
        let locked = read(problem(
            429,
            "proof-locked",
            r#","until":"2026-11-23T08:45:00+08:00""#,
        ));
        let now = "2026-11-23T00:00:00Z".parse().unwrap();
        assert_eq!(
            locked.advice(now, 480),
            crate::api::Advice {
                msg: crate::i18n::Msg::ProofLocked,
                arg: Some("08:45".into())
            }
        );
        // A gateway whose FHIR server is down is an outage, with its Retry-After.
        let down = read(raw(503, "<html>"));
        assert_eq!(
            down,
            ApiError::Server {
                status: 503,
                retry_after: Some("3".into())
            }
        );
        // The answer itself: the Appointment and its patient, masked by the gateway.
        let ok = RawResponse {
            status: 200,
            content_type: "application/json".into(),
            retry_after: None,
            location: None,
            body: r#"{"appointment":{"resourceType":"Appointment","id":"a1"},
                "patient":{"name":"李*","document_kind":"resident_id",
                "document_number":"1101**************","phone":"138****5678"}}"#
                .into(),
        };
        let answer = super::super::http::interpret::<OwnedAppointment>(ok).unwrap();
        assert_eq!(answer.appointment["id"], "a1");
        assert_eq!(answer.patient.name, "李*");
    }

    #[test]
    fn only_the_gateway_checks_a_proof() {
        assert_eq!(code_access(true), CodeAccess::Proven);
        assert_eq!(code_access(false), CodeAccess::CodeOnly);
    }

    #[test]
    fn answers_become_the_errors_the_pages_explain() {
        assert_eq!(interpret(raw(200, "")).unwrap(), Value::Null);
        assert!(matches!(
            interpret(raw(200, "<html>")),
            Err(ApiError::BadData(_))
        ));
        assert_eq!(
            interpret(raw(503, "{}")).unwrap_err(),
            ApiError::Server {
                status: 503,
                retry_after: Some("3".into())
            }
        );
        let gone = interpret(raw(404, r#"{"resourceType":"OperationOutcome"}"#)).unwrap_err();
        assert_eq!(gone.message(), crate::i18n::Msg::ErrNotFound);
        assert_eq!(
            interpret(raw(412, "{}")).unwrap_err(),
            ApiError::Server {
                status: 412,
                retry_after: None
            }
        );
    }
}
