//! HTTP transport shared by the adapters: channel header, timeouts, endpoint failover, and turning
//! whatever comes back into either the promised type or an [`ApiError`].

use fairslot_core::retry::Answered;
use fairslot_core::{CHANNEL_HEADER, CLIENT_HEADER, IDEMPOTENCY_HEADER, Problem, ProblemKind};
use gloo_net::http::{Method, RequestBuilder};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::ApiError;

/// How long an endpoint that answered while the first one failed stays first. After that the
/// first endpoint, the deployment's preferred one, gets its turn again.
const REMEMBER_HEALTHY_MS: u64 = 5 * 60 * 1000;

/// A request before it is sent to one of the endpoints.
pub struct Outgoing<'a> {
    pub method: Method,
    pub path: &'a str,
    pub body: Option<String>,
    /// Headers beyond those every request of the dialect carries.
    pub headers: Vec<(&'static str, String)>,
}

/// The wire conventions of the API behind the endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// Fairslot's JSON API: the channel and the client token travel in headers, errors are
    /// problem details.
    Native {
        channel: String,
        /// This tab's (or this kiosk patient's) random token, which holds are counted against.
        client: String,
    },
    /// FHIR R4: `application/fhir+json`, and no header a FHIR server's CORS policy would refuse.
    Fhir,
}

/// One or more base URLs of the same API, tried in order; one that answered when the first did
/// not goes first for a while.
pub struct Transport {
    base_urls: Vec<String>,
    dialect: Dialect,
    /// How long a request may take before it counts as unanswered and the next endpoint is tried.
    timeout: Duration,
    preferred: AtomicUsize,
    /// Device time (ms) until which `preferred` stands.
    preferred_until: AtomicU64,
}

impl Transport {
    pub fn new(base_urls: Vec<String>, dialect: Dialect, timeout: Duration) -> Self {
        Self {
            base_urls,
            dialect,
            timeout,
            preferred: AtomicUsize::new(0),
            preferred_until: AtomicU64::new(0),
        }
    }

    /// GETs `path` (starting with `/`, already encoded) and reads the answer as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        interpret(self.get_raw(path).await?)
    }

    /// The path and query of `url` below one of the endpoints, so a server's absolute link (a next
    /// page) can be asked of whichever endpoint answers. `None` for a URL elsewhere.
    pub fn relative(&self, url: &str) -> Option<String> {
        // A link that climbs out of the API with dot segments is not followed. URL parsers drop
        // tabs and line breaks anywhere and read `\` as `/`, so `.\t.` is `..` and `..\` a
        // segment of its own: a link with any of them is not followed at all.
        if url.contains(['\t', '\n', '\r', '\\']) {
            return None;
        }
        let path_part = url.split(['?', '#']).next().unwrap_or("");
        if path_part.split('/').any(|seg| {
            matches!(
                seg.to_ascii_lowercase().as_str(),
                "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
            )
        }) {
            return None;
        }
        self.base_urls.iter().find_map(|base| {
            if let Some(rest) = url.strip_prefix(base.as_str()) {
                return rest.starts_with(['/', '?']).then(|| rest.to_string());
            }
            // A same-origin base (`/fhir`) against a link with scheme and host.
            let path = url.split_once("://")?.1;
            let path = &path[path.find('/')?..];
            base.starts_with('/')
                .then(|| path.strip_prefix(base.as_str()))
                .flatten()
                .filter(|rest| rest.starts_with(['/', '?']))
                .map(str::to_string)
        })
    }

    /// GETs `path`, its answer as received.
    pub async fn get_raw(&self, path: &str) -> Result<RawResponse, ApiError> {
        let req = Outgoing {
            method: Method::GET,
            path,
            body: None,
            headers: Vec::new(),
        };
        self.fetch(req).await
    }

    /// POSTs `body` as JSON and reads the answer as `T`. With an idempotency key, trying another
    /// endpoint after an outage is safe: the server answers a repeat with the original result.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        idempotency_key: Option<&str>,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_string(body).map_err(|e| ApiError::BadData(e.to_string()))?;
        let headers = idempotency_key
            .map(|k| (IDEMPOTENCY_HEADER, k.to_string()))
            .into_iter()
            .collect();
        let req = Outgoing {
            method: Method::POST,
            path,
            body: Some(body),
            headers,
        };
        interpret(self.fetch(req).await?)
    }

    /// DELETEs `path`; any 2xx is success.
    pub async fn delete(&self, path: &str) -> Result<(), ApiError> {
        let req = Outgoing {
            method: Method::DELETE,
            path,
            body: None,
            headers: Vec::new(),
        };
        let raw = self.fetch(req).await?;
        if (200..300).contains(&raw.status) {
            Ok(())
        } else {
            interpret::<serde::de::IgnoredAny>(raw).map(drop)
        }
    }

    /// Asks each endpoint in turn until one gives an answer that is not an outage. Kept apart from
    /// the typed reading so this loop exists once in the binary, not once per response type.
    pub async fn fetch(&self, req: Outgoing<'_>) -> Result<RawResponse, ApiError> {
        let n = self.base_urls.len();
        let now = js_sys::Date::now() as u64;
        let first = if now < self.preferred_until.load(Ordering::Relaxed) {
            self.preferred.load(Ordering::Relaxed) % n.max(1)
        } else {
            0
        };
        let mut last = Err(ApiError::Network);
        for i in 0..n {
            let index = (first + i) % n;
            let url = format!("{}{}", self.base_urls[index], req.path);
            match self.send(&req, &url).await {
                Ok(raw) if !raw.is_outage() => {
                    // Only a change of endpoint starts the window: the first one gets its turn
                    // back when it ends, however well the other one keeps answering.
                    if index != first {
                        self.preferred.store(index, Ordering::Relaxed);
                        self.preferred_until
                            .store(now + REMEMBER_HEALTHY_MS, Ordering::Relaxed);
                    }
                    return Ok(raw);
                }
                other => last = other,
            }
        }
        last
    }

    async fn send(&self, req: &Outgoing<'_>, url: &str) -> Result<RawResponse, ApiError> {
        let controller = web_sys::AbortController::new().map_err(|_| ApiError::Network)?;
        let signal = controller.signal();
        let timed_out = Rc::new(Cell::new(false));
        let timer = {
            let timed_out = Rc::clone(&timed_out);
            let controller = controller.clone();
            set_timeout_with_handle(
                move || {
                    timed_out.set(true);
                    controller.abort();
                },
                self.timeout,
            )
            .ok()
        };
        // Leaving the page that asked aborts a read rather than letting it finish unseen. Writes
        // are never abandoned that way: their answer is what the patient is waiting for.
        if req.method == Method::GET && Owner::current().is_some() {
            let controller = SendWrapper::new(controller);
            on_cleanup(move || controller.abort());
        }
        let result = async {
            let mut builder = RequestBuilder::new(url)
                .method(req.method.clone())
                .abort_signal(Some(&signal));
            let content_type = match &self.dialect {
                Dialect::Native { channel, client } => {
                    builder = builder
                        .header(CHANNEL_HEADER, channel)
                        .header(CLIENT_HEADER, client)
                        .header("Accept", "application/json, application/problem+json");
                    "application/json"
                }
                Dialect::Fhir => {
                    builder = builder.header("Accept", "application/fhir+json");
                    "application/fhir+json"
                }
            };
            for (name, value) in &req.headers {
                builder = builder.header(name, value);
            }
            let named_type = req.headers.iter().any(|(n, _)| *n == "Content-Type");
            let sent = match &req.body {
                Some(body) if named_type => {
                    builder
                        .body(body.as_str())
                        .map_err(|_| ApiError::Network)?
                        .send()
                        .await
                }
                Some(body) => {
                    builder
                        .header("Content-Type", content_type)
                        .body(body.as_str())
                        .map_err(|_| ApiError::Network)?
                        .send()
                        .await
                }
                None => builder.send().await,
            };
            let response = sent.map_err(|_| ApiError::Network)?;
            let status = response.status();
            let content_type = response.headers().get("content-type").unwrap_or_default();
            let retry_after = response.headers().get("retry-after");
            let location = response.headers().get("location");
            let body = response.text().await.map_err(|_| ApiError::Network)?;
            Ok(RawResponse {
                status,
                content_type,
                retry_after,
                location,
                body,
            })
        }
        .await;
        if let Some(timer) = timer {
            timer.clear();
        }
        match result {
            Err(_) if timed_out.get() => Err(ApiError::Timeout),
            other => other,
        }
    }
}

/// An answer as received, before interpretation.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<String>,
    /// Where a created resource is (`Location`), readable across origins only when the server
    /// exposes it.
    pub location: Option<String>,
    pub body: String,
}

impl RawResponse {
    /// An answer that says "not now" rather than "no" ([`Answered::Retryable`]): another
    /// endpoint or a later try may work. A locked code's 429 is the exception: a refusal.
    pub fn is_outage(&self) -> bool {
        Answered::of(self.status) == Answered::Retryable && self.problem().is_none()
    }

    /// A 429 that is a refusal, not a "not now" to the whole service: a booking code locked
    /// after too many wrong proofs. Asking another endpoint or retrying soon changes nothing,
    /// and the patient needs to know until when.
    fn problem(&self) -> Option<Problem> {
        let problem = self
            .content_type
            .contains("json")
            .then(|| serde_json::from_str::<Problem>(&self.body).ok())??;
        (problem.kind() == Some(ProblemKind::ProofLocked)).then_some(problem)
    }
}

/// Reads a response as `T` on success, as problem details on failure, and anything else as an
/// error that says what went wrong — never a panic, whatever the server sent.
pub fn interpret<T: DeserializeOwned>(raw: RawResponse) -> Result<T, ApiError> {
    if (200..300).contains(&raw.status) {
        return serde_json::from_str(&raw.body).map_err(|e| ApiError::BadData(e.to_string()));
    }
    // "Not now" answers are told apart from refusals whatever their body says, and keep the
    // server's Retry-After for whoever schedules the next try.
    if let Some(problem) = raw.problem() {
        return Err(ApiError::Problem(Box::new(problem)));
    }
    if raw.is_outage() {
        return Err(ApiError::Server {
            status: raw.status,
            retry_after: raw.retry_after,
        });
    }
    if raw.content_type.contains("json")
        && let Ok(problem) = serde_json::from_str::<Problem>(&raw.body)
        && problem.kind().is_some()
    {
        return Err(ApiError::Problem(Box::new(problem)));
    }
    Err(ApiError::Server {
        status: raw.status,
        retry_after: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fairslot_core::{HospitalList, ProblemKind};

    fn raw(status: u16, content_type: &str, body: &str) -> RawResponse {
        RawResponse {
            status,
            content_type: content_type.into(),
            retry_after: None,
            location: None,
            body: body.into(),
        }
    }

    #[test]
    fn next_page_links_are_followed_only_below_an_endpoint() {
        let t = Transport::new(
            vec!["https://fhir.example/R4".into(), "/fhir".into()],
            Dialect::Fhir,
            Duration::from_secs(1),
        );
        assert_eq!(
            t.relative("https://fhir.example/R4/Slot?_offset=30")
                .as_deref(),
            Some("/Slot?_offset=30")
        );
        assert_eq!(
            t.relative("http://127.0.0.1:8080/fhir/Slot?page=2")
                .as_deref(),
            Some("/Slot?page=2")
        );
        for elsewhere in [
            "https://evil.example/R4/Slot?x=1",
            "https://fhir.example/R4Other/Slot",
            "https://fhir.example/R4/../admin/Slot",
            "https://fhir.example/R4/%2e%2e/Slot",
            "https://fhir.example/R4/..\\Slot",
            "https://fhir.example/R4/..\\..\\admin",
            "https://fhir.example/R4/.\t./Slot",
            "https://fhir.example/R4/.\n%2e/Slot",
            "https://fhir.example/R4/\r../Slot",
            "http://h/fhirx/Slot",
        ] {
            assert_eq!(t.relative(elsewhere), None, "{elsewhere}");
        }
    }

    #[test]
    fn a_locked_booking_code_is_a_refusal_with_its_end_not_an_outage() {
        let body = r#"{"type":"urn:fairslot:problem:proof-locked","title":"Locked","status":429,"until":"2026-11-23T08:45:00+08:00"}"#;
        let mut r = raw(429, "application/problem+json", body);
        r.retry_after = Some("600".into());
        assert!(!r.is_outage());
        match interpret::<HospitalList>(r) {
            Err(ApiError::Problem(p)) => {
                assert_eq!(p.kind(), Some(ProblemKind::ProofLocked));
                assert_eq!(p.until.unwrap().to_rfc3339(), "2026-11-23T08:45:00+08:00");
            }
            other => panic!("{other:?}"),
        }
        // A rate limit stays "not now", with its Retry-After.
        let body =
            r#"{"type":"urn:fairslot:problem:rate-limited","title":"Slow down","status":429}"#;
        let mut r = raw(429, "application/problem+json", body);
        r.retry_after = Some("12".into());
        assert!(r.is_outage());
        assert_eq!(
            interpret::<HospitalList>(r).unwrap_err(),
            ApiError::Server {
                status: 429,
                retry_after: Some("12".into())
            }
        );
    }

    #[test]
    fn success_is_read_as_the_promised_type() {
        let r: HospitalList = interpret(raw(200, "application/json", r#"{"items":[]}"#)).unwrap();
        assert!(r.items.is_empty());
    }

    #[test]
    fn malformed_or_hostile_success_bodies_are_bad_data() {
        for body in [
            "",
            "<html>proxy error</html>",
            r#"{"items":"nope"}"#,
            r#"{"items":[{"id":1}]}"#,
        ] {
            let r: Result<HospitalList, _> = interpret(raw(200, "application/json", body));
            assert!(matches!(r, Err(ApiError::BadData(_))), "{body}");
        }
    }

    #[test]
    fn problems_are_typed() {
        let body = r#"{"type":"urn:fairslot:problem:not-found","title":"Not found","status":404}"#;
        let r: Result<HospitalList, _> = interpret(raw(404, "application/problem+json", body));
        match r {
            Err(ApiError::Problem(p)) => assert_eq!(p.kind(), Some(ProblemKind::NotFound)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failures_without_problem_details_keep_status_and_retry_after() {
        let mut r = raw(503, "text/html", "<h1>Bad gateway</h1>");
        r.retry_after = Some(" 7 ".into());
        let e = interpret::<HospitalList>(r).unwrap_err();
        assert_eq!(
            e,
            ApiError::Server {
                status: 503,
                retry_after: Some(" 7 ".into())
            }
        );
        assert!(raw(503, "", "").is_outage() && raw(429, "", "").is_outage());
        assert!(!raw(404, "", "").is_outage() && !raw(200, "", "").is_outage());
        // JSON that is not a problem of ours is not trusted as one.
        let e =
            interpret::<HospitalList>(raw(400, "application/json", r#"{"type":"x"}"#)).unwrap_err();
        assert_eq!(
            e,
            ApiError::Server {
                status: 400,
                retry_after: None
            }
        );
    }
}
