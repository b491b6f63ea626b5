//! The FHIR gateway: with `--fhir-upstream`, the server stands in front of a FHIR R4 server at
//! `/fhir`, so that a FHIR deployment gets what the reference API gives: a proof checked where
//! the browser cannot see the patient, counted and locked per code, and rate limits per address.
//!
//! - The app's FHIR requests are passed on unchanged, as far as the app makes them: reads and
//!   searches of any type but Patient; a Slot updated (the booking claim); a Patient and an
//!   Appointment created. Everything else (any other Patient request, changing or deleting an
//!   Appointment, transactions, operations, chained and `_has` searches, includes of patients)
//!   is refused with a 403 OperationOutcome, before the FHIR server sees it.
//! - No Patient resource comes back: a created Patient is answered with its `Location` alone,
//!   and Patient resources are taken out of any answer that carries them.
//! - Lookup and cancel by code are the operations of [`fairslot_core::fhir::gateway`]: the
//!   proof is compared here with the Patient the FHIR server holds, and only the masked patient
//!   leaves.
//!
//! The upstream's own credential (`--fhir-token`) is added here and never reaches a browser.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use chrono::{DateTime, Duration, Utc};
use fairslot_core::fhir::gateway::{
    CANCEL_OPERATION, LOOKUP_OPERATION, OwnedAppointment, OwnedRequest,
};
use fairslot_core::fhir::{self, Patient};
use fairslot_core::outbox::IdempotencyKey;
use fairslot_core::{ProblemKind, field_code, identity};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::extract::{ApiJson, is_json_media_type};
use crate::problem::ApiError;
use crate::store::ProofOutcome;

/// Where the gateway answers; the app's config names it as its FHIR base URL.
pub const PREFIX: &str = "/fhir";
/// How long one request to the FHIR server may take.
const UPSTREAM_TIMEOUT: StdDuration = StdDuration::from_secs(20);
/// Largest answer taken from the FHIR server (a page of a few hundred slots is well under it).
const MAX_UPSTREAM_BYTES: usize = 32 * 1024 * 1024;
/// How often a cancel re-reads an Appointment that changed under it.
const CANCEL_TRIES: usize = 3;

/// The FHIR server behind the gateway.
#[derive(Clone)]
pub struct Upstream {
    /// Base URL, without a trailing slash.
    base: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("--fhir-upstream must be an http(s) URL, not {0:?}")]
    Url(String),
    #[error("--fhir-token must be visible ASCII")]
    Token,
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Upstream {
    pub fn new(base: &str, token: Option<&str>) -> Result<Self, UpstreamError> {
        let base = base.trim().trim_end_matches('/');
        let parsed = reqwest::Url::parse(base).map_err(|_| UpstreamError::Url(base.into()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(UpstreamError::Url(base.into()));
        }
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        if token.is_some_and(|t| !t.bytes().all(|b| b.is_ascii_graphic())) {
            return Err(UpstreamError::Token);
        }
        let client = reqwest::Client::builder()
            .timeout(UPSTREAM_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| UpstreamError::Client(e.to_string()))?;
        Ok(Self {
            base: base.to_string(),
            token: token.map(str::to_string),
            client,
        })
    }
}

#[derive(Clone)]
struct Gateway {
    state: AppState,
    upstream: Arc<Upstream>,
}

/// The gateway's routes, to be merged into the application.
pub fn router(state: AppState, upstream: Upstream) -> Router {
    let gateway = Gateway {
        state,
        upstream: Arc::new(upstream),
    };
    Router::new()
        .route(&format!("{PREFIX}{LOOKUP_OPERATION}"), post(lookup))
        .route(&format!("{PREFIX}{CANCEL_OPERATION}"), post(cancel))
        .route(&format!("{PREFIX}/{{*rest}}"), any(proxy))
        // The base itself takes transactions and batches, which could do anything: none pass.
        .route(PREFIX, any(not_passed))
        .route(&format!("{PREFIX}/"), any(not_passed))
        .with_state(gateway)
}

// ---- what passes ----------------------------------------------------------------------------

/// A request the app makes, as the gateway recognises it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Interaction {
    Capabilities,
    Search { kind: String },
    Read { kind: String },
    Create { kind: String },
    Update { kind: String },
}

/// The resource types the app reads through the gateway.
const READABLE: [&str; 8] = [
    "Organization",
    "HealthcareService",
    "PractitionerRole",
    "Practitioner",
    "Schedule",
    "Slot",
    "Location",
    "Appointment",
];

/// What a request asks for, or why it may not pass (`Err`, said in the OperationOutcome).
fn classify(method: &Method, rest: &str) -> Result<Interaction, &'static str> {
    let segments: Vec<&str> = rest.split('/').collect();
    // Only what the app reads, spelled exactly: a FHIR server may hold anything else about a
    // patient (observations, encounters, coverage), and none of it is the app's business.
    let kind = |s: &str| READABLE.contains(&s).then(|| s.to_string());
    let interaction = match (method, segments.as_slice()) {
        (&Method::GET, ["metadata"]) => Interaction::Capabilities,
        (&Method::GET, [t]) => Interaction::Search {
            kind: kind(t).ok_or("not a resource type")?,
        },
        (&Method::POST, [t, "_search"]) => Interaction::Search {
            kind: kind(t).ok_or("not a resource type")?,
        },
        (&Method::GET, [t, id]) if fhir::is_fhir_id(id) => Interaction::Read {
            kind: kind(t).ok_or("not a resource type")?,
        },
        (&Method::POST, [t @ ("Patient" | "Appointment")]) => Interaction::Create {
            kind: t.to_string(),
        },
        (_, ["Patient", ..]) => return Err("Patient resources are not served."),
        (&Method::PUT, [t, id]) if fhir::is_fhir_id(id) => Interaction::Update {
            kind: kind(t).ok_or("not a resource type")?,
        },
        _ => return Err(NOT_PASSED),
    };
    match &interaction {
        Interaction::Read { kind } if kind == "Appointment" => {
            Err("Appointments are found by their booking's key, or by code and proof.")
        }
        Interaction::Create { kind } if kind != "Patient" && kind != "Appointment" => {
            Err("Only patients and appointments are created here.")
        }
        Interaction::Update { kind } if kind != "Slot" => {
            Err("Only slots are updated here; cancel an appointment with its code and proof.")
        }
        _ => Ok(interaction),
    }
}

/// Whether a search parameter may pass: no chains or reverse chains (which search by a
/// patient's details), no free-form filters, no includes of patients.
fn parameter_allowed(name: &str, value: &str) -> bool {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let name = name.to_ascii_lowercase();
    if name.contains('.') || name.starts_with("_has") {
        return false;
    }
    if matches!(
        name.as_str(),
        "_filter" | "_query" | "_contained" | "_containedtype" | "_graph"
    ) {
        return false;
    }
    if name.starts_with("_include") || name.starts_with("_revinclude") {
        let value = value.to_ascii_lowercase();
        return !(value.contains("patient") || value.contains('*') || value.contains("subject"));
    }
    true
}

/// Every parameter of a query string or form body, decoded.
fn form_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes every Patient resource (Bundle entries, contained resources, and a Patient itself,
/// which becomes `Null`), and from every Appointment what names its patient (a Patient
/// participant, any participant's display) and, unless it is the booking under `own_key`, the
/// booking's key and code: a code found here would be one more code to guess proofs for.
/// Returns how many Patients were removed.
fn strip_patients(value: &mut Value, own_key: Option<&str>) -> usize {
    let is_patient = |v: &Value| v.get("resourceType").and_then(Value::as_str) == Some("Patient");
    if is_patient(value) {
        *value = Value::Null;
        return 1;
    }
    if value.get("resourceType").and_then(Value::as_str) == Some("Appointment") {
        redact_appointment(value, own_key);
    }
    let mut removed = 0;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(entries)) = map.get_mut("entry") {
                let before = entries.len();
                entries.retain(|e| !e.get("resource").is_some_and(is_patient));
                removed += before - entries.len();
            }
            if let Some(Value::Array(contained)) = map.get_mut("contained") {
                let before = contained.len();
                contained.retain(|c| !is_patient(c));
                removed += before - contained.len();
            }
            for v in map.values_mut() {
                removed += strip_patients(v, own_key);
            }
        }
        Value::Array(items) => {
            for v in items {
                removed += strip_patients(v, own_key);
            }
        }
        _ => {}
    }
    removed
}

fn redact_appointment(appointment: &mut Value, own_key: Option<&str>) {
    let own =
        own_key.is_some_and(|k| fhir::has_identifier(appointment, fhir::BOOKING_KEY_SYSTEM, k));
    let Some(map) = appointment.as_object_mut() else {
        return;
    };
    if !own && let Some(Value::Array(ids)) = map.get_mut("identifier") {
        ids.retain(|i| {
            let system = i.get("system").and_then(Value::as_str);
            system != Some(fhir::BOOKING_KEY_SYSTEM) && system != Some(fhir::BOOKING_CODE_SYSTEM)
        });
    }
    if let Some(Value::Array(participants)) = map.get_mut("participant") {
        participants.retain(|p| {
            !p.get("actor")
                .and_then(|a| a.get("reference"))
                .and_then(Value::as_str)
                .is_some_and(|r| r.starts_with("Patient/") || r.contains("/Patient/"))
        });
        for p in participants.iter_mut() {
            if let Some(actor) = p.get_mut("actor").and_then(Value::as_object_mut) {
                actor.remove("display");
            }
        }
    }
}

/// A URL of the FHIR server as the browser must see it: under the gateway's prefix. Anything
/// not under the upstream's base is left as it is (the app follows only its own base's links).
fn public_url(upstream_base: &str, url: &str) -> String {
    match url.strip_prefix(upstream_base) {
        Some(rest) if rest.is_empty() || rest.starts_with(['/', '?']) => format!("{PREFIX}{rest}"),
        _ => url.to_string(),
    }
}

/// Rewrites the links of a Bundle (`link.url`, `entry.fullUrl`) to the gateway.
fn rewrite_links(upstream_base: &str, bundle: &mut Value) {
    if let Some(Value::Array(links)) = bundle.get_mut("link") {
        for link in links {
            if let Some(Value::String(url)) = link.get_mut("url") {
                *url = public_url(upstream_base, url);
            }
        }
    }
    if let Some(Value::Array(entries)) = bundle.get_mut("entry") {
        for entry in entries {
            if let Some(Value::String(url)) = entry.get_mut("fullUrl") {
                *url = public_url(upstream_base, url);
            }
        }
    }
}

// ---- the proxy ------------------------------------------------------------------------------

fn outcome(status: StatusCode, code: &str, text: &str) -> Response {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/fhir+json")],
        body.to_string(),
    )
        .into_response()
}

fn forbidden(why: &str) -> Response {
    outcome(StatusCode::FORBIDDEN, "forbidden", why)
}

async fn not_passed() -> Response {
    forbidden(NOT_PASSED)
}

const NOT_PASSED: &str = "This request is not passed to the FHIR server.";

/// The request headers passed to the FHIR server; nothing else of the browser's goes through.
const FORWARDED: [HeaderName; 6] = [
    header::ACCEPT,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    HeaderName::from_static("if-none-exist"),
    HeaderName::from_static("prefer"),
];

/// The response headers passed back.
const RETURNED: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::ETAG,
    header::LAST_MODIFIED,
    header::CACHE_CONTROL,
    header::RETRY_AFTER,
];

/// Content types a FHIR write may carry: JSON only, so no other site's form can write.
fn is_fhir_json(value: Option<&HeaderValue>) -> bool {
    value.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        is_json_media_type(v)
            || v.split(';')
                .next()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/fhir+json"))
    })
}

fn is_form(value: Option<&HeaderValue>) -> bool {
    value.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|e| {
            e.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    })
}

/// An answer of the FHIR server, read in full.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Upstream {
    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Answer, ApiError> {
        let mut request = self
            .client
            .request(method, format!("{}{path_and_query}", self.base))
            .headers(headers);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.map_err(|e| unreachable(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_UPSTREAM_BYTES as u64)
        {
            return Err(upstream_failed("answer too large"));
        }
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
            if body.len() + chunk.len() > MAX_UPSTREAM_BYTES {
                return Err(upstream_failed("answer too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body: Bytes::from(body),
        })
    }

    /// A JSON resource (or Bundle) from the FHIR server; 404/410 as `None`.
    async fn get_json(&self, path: &str) -> Result<Option<Value>, ApiError> {
        let answer = self.send(Method::GET, path, accept_fhir(), None).await?;
        json_answer(answer)
    }
}

fn accept_fhir() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/fhir+json"),
    );
    headers
}

fn json_answer(answer: Answer) -> Result<Option<Value>, ApiError> {
    match answer.status.as_u16() {
        200..=299 => serde_json::from_slice(&answer.body)
            .map(Some)
            .map_err(|_| upstream_failed("an answer that is not JSON")),
        404 | 410 => Ok(None),
        status => Err(upstream_status(status)),
    }
}

fn unreachable(e: &reqwest::Error) -> ApiError {
    eprintln!(
        "FHIR server unreachable: {}",
        if e.is_timeout() { "timeout" } else { "error" }
    );
    ApiError::new(
        ProblemKind::Unavailable,
        "The FHIR server behind this gateway does not answer.",
    )
    .with_retry_after(5)
}

fn upstream_failed(what: &str) -> ApiError {
    eprintln!("FHIR server sent {what}");
    ApiError::new(
        ProblemKind::Unavailable,
        "The FHIR server behind this gateway answered in a way it cannot use.",
    )
    .with_retry_after(5)
}

fn upstream_status(status: u16) -> ApiError {
    upstream_failed(&format!("status {status}"))
}

async fn proxy(State(gateway): State<Gateway>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(rest) = parts
        .uri
        .path()
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return forbidden(NOT_PASSED);
    };
    let interaction = match classify(&parts.method, rest) {
        Ok(i) => i,
        Err(why) => return forbidden(why),
    };
    let query = parts.uri.query().unwrap_or("");
    let body = match axum::body::to_bytes(body, crate::extract::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return outcome(StatusCode::PAYLOAD_TOO_LARGE, "too-long", "Too large."),
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE);
    let mut searched = form_urlencoded(query);
    match &interaction {
        Interaction::Search { .. } if parts.method == Method::POST => {
            if !is_form(content_type) || !is_utf8_or_unnamed(content_type) {
                return forbidden("A search body must be a form in UTF-8.");
            }
            searched.extend(form_urlencoded(&String::from_utf8_lossy(&body)));
        }
        Interaction::Create { .. } | Interaction::Update { .. } if !is_fhir_json(content_type) => {
            return outcome(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not-supported",
                "Send resources as application/fhir+json.",
            );
        }
        _ if !body.is_empty() && parts.method == Method::GET => {
            return forbidden(NOT_PASSED);
        }
        _ => {}
    }
    if let Some((name, _)) = searched.iter().find(|(n, v)| !parameter_allowed(n, v)) {
        let why = if name.starts_with("_include") || name.starts_with("_revinclude") {
            "Patient resources are not served."
        } else {
            NOT_PASSED
        };
        return forbidden(why);
    }
    // The booking a request is about, by its key: a create must name it (and only it) as its
    // condition, and only answers about it keep the booking's identifiers.
    let own_key = match &interaction {
        Interaction::Create { kind } => match bound_key(kind, &parts.headers, &body) {
            Ok(key) => Some(key),
            Err(why) => return forbidden(why),
        },
        Interaction::Search { kind } if kind == "Appointment" => searched_key(&searched),
        _ => None,
    };
    if let Interaction::Update { .. } = interaction
        && let Err(refusal) = gateway.check_slot_update(rest, &parts.headers, &body).await
    {
        return refusal;
    }
    let creates_patient = interaction
        == Interaction::Create {
            kind: "Patient".into(),
        };
    let mut headers = HeaderMap::new();
    for name in FORWARDED {
        if let Some(value) = parts.headers.get(&name) {
            headers.insert(name, value.clone());
        }
    }
    if creates_patient {
        // With the resource, the id is known even where a server sends no `Location` (as for a
        // conditional create that found the patient); it stops here.
        headers.insert(
            HeaderName::from_static("prefer"),
            HeaderValue::from_static("return=representation"),
        );
    }
    let path_and_query = match query {
        "" => format!("/{rest}"),
        q => format!("/{rest}?{q}"),
    };
    let body = (!body.is_empty()).then_some(body);
    let answer = match gateway
        .upstream
        .send(parts.method.clone(), &path_and_query, headers, body)
        .await
    {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if creates_patient {
        let condition = parts
            .headers
            .get("if-none-exist")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        return gateway.patient_created(answer, condition).await;
    }
    relay(&gateway.upstream.base, answer, own_key.as_deref())
}

/// The key a create is bound to: its `If-None-Exist` must be exactly the booking-key condition,
/// and the resource must carry that key (and, for an Appointment, the code derived from it). A
/// condition on anything else would ask the FHIR server about other people's records.
fn bound_key(kind: &str, headers: &HeaderMap, body: &[u8]) -> Result<String, &'static str> {
    const UNBOUND: &str = "A resource is created here under its booking's key only.";
    let condition = headers
        .get("if-none-exist")
        .and_then(|v| v.to_str().ok())
        .ok_or(UNBOUND)?;
    let key = match form_urlencoded(condition).as_slice() {
        [(name, value)] if name == "identifier" => value
            .strip_prefix(fhir::BOOKING_KEY_SYSTEM)
            .and_then(|v| v.strip_prefix('|'))
            .filter(|k| IdempotencyKey::parse(k).is_ok())
            .ok_or(UNBOUND)?
            .to_string(),
        _ => return Err(UNBOUND),
    };
    let resource: Value = serde_json::from_slice(body).map_err(|_| UNBOUND)?;
    let ok = resource.get("resourceType").and_then(Value::as_str) == Some(kind)
        && fhir::has_identifier(&resource, fhir::BOOKING_KEY_SYSTEM, &key)
        && (kind != "Appointment"
            || fhir::has_identifier(
                &resource,
                fhir::BOOKING_CODE_SYSTEM,
                &fhir::booking_code(&key),
            ));
    ok.then_some(key).ok_or(UNBOUND)
}

/// The booking key an Appointment search asks for by identifier, if it does.
fn searched_key(searched: &[(String, String)]) -> Option<String> {
    searched.iter().find_map(|(name, value)| {
        (name == "identifier")
            .then(|| {
                value
                    .strip_prefix(fhir::BOOKING_KEY_SYSTEM)?
                    .strip_prefix('|')
            })
            .flatten()
            .map(str::to_string)
    })
}

/// A form's charset, if it names one, is UTF-8: another would decode to other names upstream.
fn is_utf8_or_unnamed(value: Option<&HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return true;
    };
    value
        .split(';')
        .skip(1)
        .all(|param| match param.trim().split_once('=') {
            Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => charset
                .trim()
                .trim_matches('"')
                .eq_ignore_ascii_case("utf-8"),
            _ => true,
        })
}

/// The Slot as compared for an update: what only the booking claim may change taken out.
fn slot_without_claim(slot: &Value) -> Value {
    let mut slot = fhir::unclaim(slot);
    if let Some(map) = slot.as_object_mut() {
        for field in ["meta", "text", "status"] {
            map.remove(field);
        }
        if map
            .get("extension")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            map.remove("extension");
        }
    }
    slot
}

impl Gateway {
    /// A Slot update passes only as a claim or its release: versioned, and changing nothing but
    /// the status and the claim.
    async fn check_slot_update(
        &self,
        rest: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Response> {
        const ONLY_CLAIMS: &str =
            "Only a slot's status and booking claim change here, with If-Match.";
        if !headers.contains_key(header::IF_MATCH) {
            return Err(forbidden(ONLY_CLAIMS));
        }
        let sent: Value = serde_json::from_slice(body).map_err(|_| forbidden(ONLY_CLAIMS))?;
        let stored = match self.upstream.get_json(&format!("/{rest}")).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Err(forbidden(ONLY_CLAIMS)),
            Err(e) => return Err(e.into_response()),
        };
        let status_ok = matches!(
            sent.get("status").and_then(Value::as_str),
            Some("free" | "busy")
        );
        if !status_ok || slot_without_claim(&sent) != slot_without_claim(&stored) {
            return Err(forbidden(ONLY_CLAIMS));
        }
        Ok(())
    }
}

impl Gateway {
    /// A created Patient is told by its `Location` alone, whatever the server sent (a body, or a
    /// 200 for one that existed already: that a person is known is not told either).
    async fn patient_created(&self, answer: Answer, condition: Option<String>) -> Response {
        if !answer.status.is_success() {
            return relay(&self.upstream.base, answer, None);
        }
        let from_header = answer
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| fhir::id_from_location(l, "Patient"))
            .map(str::to_string);
        let from_body = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| single_id(&v, "Patient"));
        let id = match (from_header.or(from_body), condition) {
            (Some(id), _) => Some(id),
            // Neither: the condition it was created under finds it.
            (None, Some(condition)) => match self
                .upstream
                .get_json(&format!("/Patient?{condition}"))
                .await
            {
                Ok(Some(bundle)) => bundle
                    .get("entry")
                    .and_then(Value::as_array)
                    .filter(|e| e.len() == 1)
                    .and_then(|e| e[0].get("resource"))
                    .and_then(|r| single_id(r, "Patient")),
                Ok(None) => None,
                Err(e) => return e.into_response(),
            },
            (None, None) => None,
        };
        match id {
            Some(id) => (
                StatusCode::CREATED,
                [
                    (header::LOCATION, format!("{PREFIX}/Patient/{id}")),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
            )
                .into_response(),
            None => upstream_failed("a created Patient without an id").into_response(),
        }
    }
}

/// The id of a resource of `kind`.
fn single_id(resource: &Value, kind: &str) -> Option<String> {
    (resource.get("resourceType")?.as_str()? == kind)
        .then(|| resource.get("id")?.as_str())
        .flatten()
        .filter(|id| fhir::is_fhir_id(id))
        .map(str::to_string)
}

/// The FHIR server's answer as the browser gets it: its status, the headers it needs, and a
/// JSON body without Patient resources and with links to the gateway.
fn relay(upstream_base: &str, answer: Answer, own_key: Option<&str>) -> Response {
    let json = answer
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let body = if answer.body.is_empty() {
        Bytes::new()
    } else if json {
        match serde_json::from_slice::<Value>(&answer.body) {
            Ok(mut value) => {
                strip_patients(&mut value, own_key);
                rewrite_links(upstream_base, &mut value);
                Bytes::from(value.to_string())
            }
            Err(_) if answer.status.is_success() => {
                return upstream_failed("an answer that is not JSON").into_response();
            }
            // An error page that says it is JSON and is not: its status is what matters.
            Err(_) => Bytes::new(),
        }
    } else if answer.status.is_success() {
        return upstream_failed("an answer that is not JSON").into_response();
    } else {
        // A proxy's HTML error page: nothing of it is passed on but the status.
        Bytes::new()
    };
    let mut response = (answer.status, body).into_response();
    let headers = response.headers_mut();
    for name in RETURNED {
        if let Some(value) = answer.headers.get(&name) {
            headers.insert(name, value.clone());
        }
    }
    if let Some(location) = answer
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| HeaderValue::from_str(&public_url(upstream_base, l)).ok())
    {
        headers.insert(header::LOCATION, location);
    }
    // Answers that feed a decision must reach the server: without the server's word, no cache
    // keeps one for long.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    response
}

// ---- lookup and cancel ----------------------------------------------------------------------

/// The code as stored (`XXXX-XXXX`), from what a patient typed; `None` when it cannot be one.
fn stored_code(typed: &str) -> Option<String> {
    crate::api::bookings::normalise_code(typed)
        .filter(|plain| plain.len() == 8)
        .map(|plain| format!("{}-{}", &plain[..4], &plain[4..]))
}

fn no_such_booking() -> ApiError {
    // The same answer for an unknown code and a wrong document, so neither can be probed.
    ApiError::not_found("No booking matches this code and document.")
}

/// An Appointment found by code, with the Patient it names.
struct Found {
    appointment: Value,
    patient: Patient,
}

impl Gateway {
    /// The Appointment with this code and the Patient it names, from the FHIR server.
    async fn find(&self, code: &str) -> Result<Option<Found>, ApiError> {
        let upstream = &self.upstream;
        let mut headers = accept_fhir();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let form = format!(
            "{}&_count=10",
            fhir::identifier_condition(fhir::BOOKING_CODE_SYSTEM, code)
        );
        let answer = upstream
            .send(
                Method::POST,
                "/Appointment/_search",
                headers,
                Some(Bytes::from(form)),
            )
            .await?;
        let Some(bundle) = json_answer(answer)? else {
            return Ok(None);
        };
        let bundle = fhir::Bundle::from_value(bundle)
            .map_err(|_| upstream_failed("a search answer that is not a Bundle"))?;
        // Checked here too: a server that ignores the identifier must not hand out a stranger's.
        // A code names one booking: a second Appointment with it (made by anyone) makes it name
        // none, rather than letting the second one stand in for the first.
        let named: Vec<&Value> = bundle
            .raw("Appointment")
            .into_iter()
            .filter(|a| fhir::has_identifier(a, fhir::BOOKING_CODE_SYSTEM, code))
            .collect();
        let [appointment] = named.as_slice() else {
            return Ok(None);
        };
        let appointment = (*appointment).clone();
        // The booking's own: its code comes from its key, and its Patient was made under that
        // key, so an Appointment someone wrote to point at another person's Patient proves
        // nothing about them.
        let Some(key) = key_of(&appointment).filter(|k| fhir::booking_code(k) == code) else {
            return Ok(None);
        };
        let Some(patient_id) = patient_of(&appointment) else {
            return Ok(None);
        };
        let Some(patient) = upstream.get_json(&format!("/Patient/{patient_id}")).await? else {
            return Ok(None);
        };
        if !fhir::has_identifier(&patient, fhir::BOOKING_KEY_SYSTEM, &key) {
            return Ok(None);
        }
        let patient = fhir::read_resource::<Patient>(patient, "Patient")
            .map_err(|_| upstream_failed("a Patient it cannot read"))?;
        Ok(Some(Found {
            appointment,
            patient,
        }))
    }

    /// The booking the proof owns, counted and locked like the reference API's proofs.
    async fn prove(&self, request: &OwnedRequest) -> Result<Found, ApiError> {
        let proof = identity::last4(&request.document_last4);
        if proof.is_empty() {
            return Err(ApiError::invalid_field(
                "document_last4",
                field_code::REQUIRED,
                "give the last four characters of the patient's document",
            ));
        }
        // Counted by what was typed when it cannot be a code: guessing malformed codes costs the
        // same as guessing real ones.
        let code = stored_code(&request.code);
        let counted = code.clone().unwrap_or_else(|| {
            request
                .code
                .trim()
                .to_ascii_uppercase()
                .chars()
                .take(32)
                .collect()
        });
        let policy = self.state.settings.policy.proof;
        let at = self.state.clock.now();
        let key = counted.clone();
        self.state
            .with_store(move |s| s.reserve_proof_attempt(&key, policy, at))
            .await?;
        let checked = match &code {
            Some(code) => self.find(code).await,
            None => Ok(None),
        };
        let outcome = match &checked {
            Ok(Some(found))
                if fhir::patient_last4(&found.patient)
                    .is_some_and(|l| l.eq_ignore_ascii_case(&proof)) =>
            {
                ProofOutcome::Held
            }
            Ok(_) => ProofOutcome::Wrong,
            // The FHIR server did not answer: the attempt proved nothing either way.
            Err(_) => ProofOutcome::Unsettled,
        };
        self.state
            .with_store(move |s| s.settle_proof_attempt(&counted, at, outcome))
            .await?;
        match (checked?, outcome) {
            (Some(found), ProofOutcome::Held) => Ok(found),
            _ => Err(no_such_booking()),
        }
    }

    /// Gives a slot back when it is claimed under `key` (the claim a booking made on it).
    async fn release(&self, slot_id: &str, key: &str) -> Result<(), ApiError> {
        let path = format!("/Slot/{slot_id}");
        let Some(slot) = self.upstream.get_json(&path).await? else {
            return Ok(());
        };
        if fhir::claimed_by(&slot) != Some(key) {
            return Ok(());
        }
        let mut headers = accept_fhir();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json"),
        );
        if let Some(v) = fhir::version_of(&slot).and_then(|v| fhir::if_match(v).parse().ok()) {
            headers.insert(header::IF_MATCH, v);
        }
        let body = Bytes::from(fhir::unclaim(&slot).to_string());
        let answer = self
            .upstream
            .send(Method::PUT, &path, headers, Some(body))
            .await?;
        // Changed meanwhile (taken by someone else after all): not this booking's to give.
        match answer.status.as_u16() {
            200..=299 | 409 | 412 => Ok(()),
            status => Err(upstream_status(status)),
        }
    }

    /// Cancels the Appointment (re-read when it changed under the update) and gives its slot
    /// back.
    async fn cancel(&self, mut appointment: Value, now: DateTime<Utc>) -> Result<Value, ApiError> {
        let id = appointment
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| fhir::is_fhir_id(id))
            .map(str::to_string)
            .ok_or_else(|| upstream_failed("an Appointment without a usable id"))?;
        let path = format!("/Appointment/{id}");
        for _ in 0..CANCEL_TRIES {
            if !fhir::is_active_appointment(&appointment) {
                break;
            }
            if let Some(start) = start_of(&appointment)
                && now > start - Duration::minutes(fhir::CANCEL_CUTOFF_MINUTES)
            {
                return Err(ApiError::new(
                    ProblemKind::CancelClosed,
                    "Cancelling has closed for this booking.",
                ));
            }
            let mut headers = accept_fhir();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/fhir+json"),
            );
            headers.insert(
                HeaderName::from_static("prefer"),
                HeaderValue::from_static("return=representation"),
            );
            if let Some(v) =
                fhir::version_of(&appointment).and_then(|v| fhir::if_match(v).parse().ok())
            {
                headers.insert(header::IF_MATCH, v);
            }
            let body = Bytes::from(fhir::cancelled(&appointment).to_string());
            let answer = self
                .upstream
                .send(Method::PUT, &path, headers, Some(body))
                .await?;
            // Changed meanwhile, or done without the resource in the answer: read it again.
            let reread = matches!(answer.status.as_u16(), 409 | 412)
                || answer.status.is_success() && answer.body.is_empty();
            let updated = if reread { None } else { json_answer(answer)? };
            appointment = match updated {
                Some(v) if v.get("resourceType").and_then(Value::as_str) == Some("Appointment") => {
                    v
                }
                _ => self
                    .upstream
                    .get_json(&path)
                    .await?
                    .ok_or_else(no_such_booking)?,
            };
        }
        if fhir::is_active_appointment(&appointment) {
            return Err(upstream_failed("an Appointment that would not cancel"));
        }
        let slot = appointment
            .get("slot")
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .and_then(|r| r.get("reference"))
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("Slot/"))
            .filter(|id| fhir::is_fhir_id(id))
            .map(str::to_string);
        if let (Some(slot), Some(key)) = (slot, key_of(&appointment)) {
            // A cancel whose release is lost is still a cancel; the next one gives it back.
            if let Err(e) = self.release(&slot, &key).await {
                eprintln!(
                    "slot of a cancelled appointment not given back: {}",
                    e.kind.slug()
                );
            }
        }
        Ok(appointment)
    }
}

fn patient_of(appointment: &Value) -> Option<String> {
    appointment
        .get("participant")?
        .as_array()?
        .iter()
        .filter_map(|p| p.get("actor")?.get("reference")?.as_str())
        .find_map(|r| r.strip_prefix("Patient/"))
        .filter(|id| fhir::is_fhir_id(id))
        .map(str::to_string)
}

fn key_of(appointment: &Value) -> Option<String> {
    appointment
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(fhir::BOOKING_KEY_SYSTEM))?
        .get("value")?
        .as_str()
        .map(str::to_string)
}

fn start_of(appointment: &Value) -> Option<DateTime<Utc>> {
    let start = appointment.get("start")?.as_str()?;
    DateTime::parse_from_rfc3339(start)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn owned(found: &Found, appointment: Value) -> axum::Json<OwnedAppointment> {
    axum::Json(OwnedAppointment {
        appointment,
        patient: fhir::masked_patient(Some(&found.patient)),
    })
}

async fn lookup(
    State(gateway): State<Gateway>,
    ApiJson(request): ApiJson<OwnedRequest>,
) -> Result<Response, ApiError> {
    let found = gateway.prove(&request).await?;
    let appointment = found.appointment.clone();
    Ok(no_store(owned(&found, appointment).into_response()))
}

async fn cancel(
    State(gateway): State<Gateway>,
    ApiJson(request): ApiJson<OwnedRequest>,
) -> Result<Response, ApiError> {
    let found = gateway.prove(&request).await?;
    let now = gateway.state.clock.now();
    let cancelled = gateway.cancel(found.appointment.clone(), now).await?;
    Ok(no_store(owned(&found, cancelled).into_response()))
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_app_does_passes() {
        let ok = |m: Method, p: &str| classify(&m, p).is_ok();
        assert!(ok(Method::GET, "metadata"));
        assert!(ok(Method::GET, "Slot"));
        assert!(ok(Method::GET, "Slot/slot-1"));
        assert!(ok(Method::POST, "Appointment/_search"));
        assert!(ok(Method::POST, "Appointment"));
        assert!(ok(Method::POST, "Patient"));
        assert!(ok(Method::PUT, "Slot/slot-1"));
        for (m, p) in [
            (Method::GET, "Patient"),
            (Method::GET, "Patient/p1"),
            (Method::POST, "Patient/_search"),
            (Method::PUT, "Patient/p1"),
            (Method::PUT, "Appointment/a1"),
            (Method::DELETE, "Appointment/a1"),
            (Method::PATCH, "Slot/s1"),
            (Method::POST, ""),
            (Method::GET, ""),
            (Method::GET, "Patient/p1/_history"),
            (Method::GET, "Appointment/a1/_history/1"),
            (Method::GET, "Patient/$everything"),
            (Method::POST, "Slot"),
            (Method::GET, "Slot/../Patient"),
            (Method::GET, "slot"),
            (Method::GET, "$graphql"),
            (Method::GET, "Observation"),
            (Method::GET, "PATIENT/p1"),
            (Method::GET, "Appointment/a1"),
            (Method::POST, "Observation"),
        ] {
            assert!(!ok(m.clone(), p), "{m} {p}");
        }
    }

    #[test]
    fn searches_by_a_patient_or_for_one_do_not_pass() {
        for (n, v) in [
            ("patient.identifier", "x"),
            ("patient:Patient.name", "x"),
            ("_has:Appointment:patient:status", "booked"),
            ("_HAS:Appointment:patient:status", "booked"),
            ("_include", "Appointment:patient"),
            ("_include:iterate", "Appointment:actor:Patient"),
            ("_revinclude", "*"),
            ("_filter", "name eq x"),
        ] {
            assert!(!parameter_allowed(n, v), "{n}={v}");
        }
        for (n, v) in [
            ("identifier", "https://x|K7Q4-M2XP"),
            ("_include", "PractitionerRole:practitioner"),
            ("partof:missing", "true"),
            ("start", "ge2026-12-01"),
            ("_count", "100"),
        ] {
            assert!(parameter_allowed(n, v), "{n}={v}");
        }
        assert_eq!(
            form_urlencoded("_include=Appointment%3Apatient&a+b=c%7Cd&x"),
            [
                ("_include".to_string(), "Appointment:patient".to_string()),
                ("a b".to_string(), "c|d".to_string()),
                ("x".to_string(), String::new()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn a_create_is_bound_to_its_own_booking_key() {
        let key = "3b241101-e2bb-4255-8caf-4136c566a962";
        let condition = |c: &str| {
            let mut h = HeaderMap::new();
            h.insert("if-none-exist", HeaderValue::from_str(c).unwrap());
            h
        };
        let own = condition(&fhir::identifier_condition(fhir::BOOKING_KEY_SYSTEM, key));
        let patient = json!({"resourceType": "Patient", "identifier": [
            {"system": fhir::RESIDENT_ID_SYSTEM, "value": "11010519491231002X"},
            {"system": fhir::BOOKING_KEY_SYSTEM, "value": key}]});
        let bytes = |v: &Value| v.to_string().into_bytes();
        assert_eq!(
            bound_key("Patient", &own, &bytes(&patient)).as_deref(),
            Ok(key)
        );
        let by_document = condition(&fhir::identifier_condition(
            fhir::RESIDENT_ID_SYSTEM,
            "11010519491231002X",
        ));
        assert!(bound_key("Patient", &by_document, &bytes(&patient)).is_err());
        let chained = condition(&format!(
            "{}&patient.identifier=x",
            fhir::identifier_condition(fhir::BOOKING_KEY_SYSTEM, key)
        ));
        assert!(bound_key("Patient", &chained, &bytes(&patient)).is_err());
        assert!(bound_key("Patient", &HeaderMap::new(), &bytes(&patient)).is_err());
        // The key named must be the resource's own; an Appointment's code must come from it.
        let other = condition(&fhir::identifier_condition(
            fhir::BOOKING_KEY_SYSTEM,
            "another-key-0001",
        ));
        assert!(bound_key("Patient", &other, &bytes(&patient)).is_err());
        let appointment = |code: &str| {
            json!({"resourceType": "Appointment", "identifier": [
                {"system": fhir::BOOKING_KEY_SYSTEM, "value": key},
                {"system": fhir::BOOKING_CODE_SYSTEM, "value": code}]})
        };
        let code = fhir::booking_code(key);
        assert!(bound_key("Appointment", &own, &bytes(&appointment(&code))).is_ok());
        assert!(bound_key("Appointment", &own, &bytes(&appointment("ZZZZ-ZZZZ"))).is_err());
    }

    #[test]
    fn a_stranger_sees_no_booking_s_code_key_or_patient() {
        let key = "3b241101-e2bb-4255-8caf-4136c566a962";
        let appointment = json!({"resourceType": "Appointment", "identifier": [
                {"system": fhir::BOOKING_KEY_SYSTEM, "value": key},
                {"system": fhir::BOOKING_CODE_SYSTEM, "value": "K7Q4-M2XP"},
                {"system": "https://other.example/id", "value": "x"}],
            "participant": [
                {"actor": {"reference": "Patient/p1", "display": "王建国"}},
                {"actor": {"reference": "PractitionerRole/r1", "display": "Dr Wang"}}]});
        let mut seen =
            json!({"resourceType": "Bundle", "entry": [{"resource": appointment.clone()}]});
        strip_patients(&mut seen, None);
        let text = seen.to_string();
        for secret in [key, "K7Q4-M2XP", "Patient/p1", "王建国", "Dr Wang"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("PractitionerRole/r1") && text.contains("other.example"));
        let mut own = appointment;
        strip_patients(&mut own, Some(key));
        let text = own.to_string();
        assert!(text.contains("K7Q4-M2XP") && text.contains(key) && !text.contains("Patient/p1"));
    }

    #[test]
    fn patients_are_taken_out_wherever_they_are() {
        let mut bundle = json!({
            "resourceType": "Bundle",
            "entry": [
                {"resource": {"resourceType": "Appointment", "id": "a1",
                              "contained": [{"resourceType": "Patient", "id": "c"}]}},
                {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"text": "王建国"}]}},
                {"resource": {"resourceType": "Bundle", "entry": [
                    {"resource": {"resourceType": "Patient", "id": "p2"}}
                ]}},
            ],
        });
        assert_eq!(strip_patients(&mut bundle, None), 3);
        let text = bundle.to_string();
        assert!(!text.contains("Patient"), "{text}");
        assert!(text.contains("a1"));
        let mut patient = json!({"resourceType": "Patient", "id": "p"});
        assert_eq!(strip_patients(&mut patient, None), 1);
        assert_eq!(patient, Value::Null);
    }

    #[test]
    fn links_point_at_the_gateway() {
        let base = "http://10.0.0.5:8103/fhir/R4";
        let mut bundle = json!({
            "resourceType": "Bundle",
            "link": [
                {"relation": "next", "url": "http://10.0.0.5:8103/fhir/R4/Slot?_offset=20"},
                {"relation": "other", "url": "https://elsewhere.example/fhir/Slot"},
            ],
            "entry": [{"fullUrl": "http://10.0.0.5:8103/fhir/R4/Slot/s1"}],
        });
        rewrite_links(base, &mut bundle);
        assert_eq!(bundle["link"][0]["url"], "/fhir/Slot?_offset=20");
        assert_eq!(
            bundle["link"][1]["url"],
            "https://elsewhere.example/fhir/Slot"
        );
        assert_eq!(bundle["entry"][0]["fullUrl"], "/fhir/Slot/s1");
        assert_eq!(
            public_url(base, "http://10.0.0.5:8103/fhir/R45/Slot"),
            "http://10.0.0.5:8103/fhir/R45/Slot"
        );
    }

    #[test]
    fn codes_are_read_as_typed() {
        assert_eq!(stored_code(" k7q4m2xp ").as_deref(), Some("K7Q4-M2XP"));
        assert_eq!(stored_code("K7Q4-M2XP").as_deref(), Some("K7Q4-M2XP"));
        assert_eq!(stored_code("K7Q4-M2X"), None);
        assert_eq!(stored_code("K7Q4-M2X%"), None);
    }

    #[test]
    fn upstream_must_be_a_web_address() {
        assert!(Upstream::new("http://127.0.0.1:8103/fhir/R4/", None).is_ok());
        assert!(Upstream::new("https://fhir.example.org/r4", Some("abc.def")).is_ok());
        assert!(matches!(
            Upstream::new("ftp://x/fhir", None),
            Err(UpstreamError::Url(_))
        ));
        assert!(matches!(
            Upstream::new("/fhir", None),
            Err(UpstreamError::Url(_))
        ));
        assert!(matches!(
            Upstream::new("http://x/fhir", Some("a b")),
            Err(UpstreamError::Token)
        ));
    }
}
