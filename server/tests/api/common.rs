//! A real server on a real database file in a temporary directory, driven over HTTP with a clock
//! the test controls.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use fairslot_server::clock::ManualClock;
use fairslot_server::{Config, RunningServer};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Monday 23 November 2026, 09:00 in Hangzhou.
pub fn start_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// A day relative to the test's today, as `YYYY-MM-DD`.
pub fn day(offset: i64) -> String {
    (today() + Duration::days(offset)).to_string()
}

/// The id of a demo slot: doctor, day offset, period, local start `HHMM`.
pub fn slot(doctor: &str, day_offset: i64, period: &str, hhmm: &str) -> String {
    format!("{doctor}-{}-{period}-{hhmm}", day(day_offset))
}

/// A patient that passes every check; the document's last four are `002X`.
pub fn patient() -> Value {
    json!({
        "name": "李雷",
        "document_kind": "resident_id",
        "document_number": "11010519491231002X",
        "phone": "138 1234 5678",
        "relationship": "self",
        "consent": true
    })
}

/// A valid mainland resident ID (GB 11643 check character) for person number `n`.
pub fn resident_id(n: u32) -> String {
    let body = format!("1101051990{:04}{:03}", 101 + n / 1000, n % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// Person `n` with their own phone, or another's.
pub fn person(n: u32, phone: u32) -> Value {
    json!({
        "name": "王芳",
        "document_kind": "resident_id",
        "document_number": resident_id(n),
        "phone": format!("139{:08}", phone),
        "relationship": "self",
        "consent": true
    })
}

pub fn booking_body(slot_id: &str) -> Value {
    json!({ "slot_id": slot_id, "patient": patient() })
}

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub client: Client,
    pub config: Config,
    server: Option<RunningServer>,
    dir: Arc<TempDir>,
}

/// Switches off every rule and limit meant for strangers on the internet, for tests about
/// something else that book one patient many times from one address. The rules and limits have
/// their own tests on a server as deployed ([`TestServer::start_as_deployed`]).
pub fn without_abuse_limits(config: &mut Config) {
    let rules = &mut config.rules;
    rules.per_doctor_day = 0;
    rules.per_department_day = 0;
    rules.active_per_person = 0;
    rules.active_per_phone = 0;
    rules.late_cancels = 0;
    rules.client_holds_per_minute = 10_000;
    rules.ip_holds_per_minute = 100_000;
    rules.ip_live_holds = 100_000;
    rules.ip_direct_bookings_per_hour = 0;
    rules.unconverted_holds_per_hour = 0;
    rules.proof_attempts = 100;
    config.guard.ip_requests_per_minute = 1_000_000;
    config.guard.ip_proofs_per_minute = 1_000_000;
    config.guard.max_connections_per_ip = 100_000;
}

/// A fresh client token per request: each hold a test takes is some other tab's.
pub fn client_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("test-client-{:08}", NEXT.fetch_add(1, Ordering::Relaxed))
}

impl TestServer {
    /// A server for behaviour other than the abuse limits: see [`without_abuse_limits`].
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// [`TestServer::start`], changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self::start_as_deployed_with(|config| {
            without_abuse_limits(config);
            configure(config);
        })
        .await
    }

    /// A server with the documented defaults of every rule and limit.
    pub async fn start_as_deployed() -> Self {
        Self::start_as_deployed_with(|_| {}).await
    }

    pub async fn start_as_deployed_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = Arc::new(TempDir::new().expect("temp dir"));
        let mut config = Config::for_data_dir(dir.path());
        configure(&mut config);
        let clock = Arc::new(ManualClock::new(start_instant()));
        let server = fairslot_server::start(&config, clock.clone())
            .await
            .expect("server starts");
        Self {
            base: format!("http://{}", server.addr),
            clock,
            client: Client::new(),
            config,
            server: Some(server),
            dir,
        }
    }

    /// A second server on the same database file and clock, as another process would be.
    pub async fn start_sharing(other: &TestServer) -> Self {
        let server = fairslot_server::start(&other.config, other.clock.clone())
            .await
            .expect("second server starts");
        Self {
            base: format!("http://{}", server.addr),
            clock: other.clock.clone(),
            client: Client::new(),
            config: other.config.clone(),
            server: Some(server),
            dir: Arc::clone(&other.dir),
        }
    }

    /// Stops the server and starts a new one on the same data directory and clock.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        let server = fairslot_server::start(&self.config, self.clock.clone())
            .await
            .expect("server restarts");
        self.base = format!("http://{}", server.addr);
        self.client = Client::new();
        self.server = Some(server);
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    pub fn database(&self) -> PathBuf {
        self.config.database_path()
    }

    /// Runs one query against the database file itself, bypassing the API.
    pub fn query_i64(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.database()).expect("open db");
        conn.query_row(sql, [], |r| r.get(0)).expect("query")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .header("X-Fairslot-Client", client_token())
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// Asks whether a booking was made under `key` (the key in the body, never the URL).
    pub async fn by_key(&self, key: &str) -> Response {
        self.post("/bookings/by-key", &json!({ "idempotency_key": key }))
            .await
    }

    /// A hold taken by the given client.
    pub async fn hold_as(&self, client: &str, slot_id: &str) -> Response {
        hold(&self.client, &self.url("/holds"), client, slot_id).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE")
    }

    /// Looks a booking up, proving ownership with `document_last4` in the body.
    pub async fn lookup(&self, code: &str, document_last4: &str) -> Response {
        self.post(
            &format!("/bookings/{code}/lookup"),
            &json!({ "document_last4": document_last4 }),
        )
        .await
    }

    /// Cancels a booking, proving ownership with `document_last4`.
    pub async fn cancel(&self, code: &str, document_last4: &str) -> Response {
        self.post(
            &format!("/bookings/{code}/cancel"),
            &json!({ "document_last4": document_last4 }),
        )
        .await
    }

    pub async fn book(&self, key: &str, body: &Value) -> Response {
        self.client
            .post(self.url("/bookings"))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("POST /bookings")
    }

    /// Books and expects success; returns the booking.
    pub async fn book_ok(&self, key: &str, slot_id: &str) -> Value {
        let response = self.book(key, &booking_body(slot_id)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "booking {slot_id}");
        response.json().await.expect("booking JSON")
    }

    /// The slot as the schedule shows it now.
    pub async fn slot(&self, slot_id: &str) -> Value {
        let (doctor, date) = parse_slot_id(slot_id);
        let schedule: Value = self
            .get(&format!("/schedules?doctor={doctor}&from={date}&days=1"))
            .await
            .json()
            .await
            .expect("schedule JSON");
        schedule["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .flat_map(|s| s["slots"].as_array().expect("slots").iter())
            .find(|s| s["id"] == slot_id)
            .cloned()
            .unwrap_or_else(|| panic!("slot {slot_id} not in schedule"))
    }

    pub async fn remaining(&self, slot_id: &str) -> u64 {
        self.slot(slot_id).await["remaining"]
            .as_u64()
            .expect("remaining")
    }

    /// Total free places in the database, to show a refused request changed nothing.
    pub fn total_remaining(&self) -> i64 {
        self.query_i64("SELECT SUM(remaining) FROM slots")
    }
}

/// `h1-cardio-3-2026-11-24-am-0800` → (`h1-cardio-3`, `2026-11-24`).
fn parse_slot_id(slot_id: &str) -> (String, String) {
    let parts: Vec<&str> = slot_id.split('-').collect();
    let date_at = parts
        .iter()
        .position(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_digit()))
        .expect("year in slot id");
    let doctor = parts[..date_at].join("-");
    let date = parts[date_at..date_at + 3].join("-");
    (doctor, date)
}

/// `POST /holds` for `client`, at `url`.
async fn hold(http: &Client, url: &str, client: &str, slot_id: &str) -> Response {
    http.post(url)
        .header("X-Fairslot-Client", client)
        .json(&json!({ "slot_id": slot_id }))
        .send()
        .await
        .expect("POST /holds")
}

/// A response header as text, empty when absent.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Reads a problem response and checks its media type, type URI and that no cache may keep it.
pub async fn expect_problem(response: Response, status: u16, slug: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );
    assert_eq!(header(&response, "cache-control"), "no-store");
    let problem: Value = response.json().await.expect("problem JSON");
    assert_eq!(
        problem["type"],
        format!("urn:fairslot:problem:{slug}"),
        "{problem}"
    );
    assert_eq!(problem["status"], status);
    problem
}

/// The server binary on a free port, with the documented defaults unless `args` say otherwise.
pub struct Binary {
    child: Child,
    pub base: String,
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl Binary {
    pub fn start(args: &[&str]) -> Self {
        let dir = tempfile::TempDir::new().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_fairslot-server"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .env_remove("FAIRSLOT_QUIET")
            .env_remove("FAIRSLOT_FAULTS")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server binary starts");
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let base = first_line
            .trim()
            .strip_prefix("Fairslot reference API listening on ")
            .unwrap_or_else(|| panic!("start line: {first_line:?}"))
            .to_string();
        Self {
            child,
            base,
            client: Client::new(),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub fn address(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    pub async fn hold(&self, client: &str, slot_id: &str) -> Response {
        hold(&self.client, &self.url("/holds"), client, slot_id).await
    }

    /// A booking of `slot_id` under `key` for [`person`] `n` (with a phone of their own), without
    /// a hold.
    pub async fn book(&self, key: &str, slot_id: &str, n: u32) -> Response {
        self.client
            .post(self.url("/bookings"))
            .header("Idempotency-Key", key)
            .json(&json!({ "slot_id": slot_id, "patient": person(n, n) }))
            .send()
            .await
            .unwrap()
    }

    pub async fn free_places(&self, doctor: &str, date: &str) -> u64 {
        let schedule: Value = self
            .client
            .get(self.url(&format!("/schedules?doctor={doctor}&from={date}&days=1")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        schedule["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["slots"].as_array().unwrap())
            .map(|s| s["remaining"].as_u64().unwrap())
            .sum()
    }

    /// Stops the server and returns everything it logged.
    pub fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        log
    }
}
