//! Command line and environment configuration.
//!
//! Every flag has an environment twin so the same binary runs from a shell, a container or a test
//! harness without a wrapper script.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser};

use crate::faults::FaultSpec;

/// Fairslot reference booking API: hospitals, schedules, holds and bookings over JSON, stored in
/// SQLite.
#[derive(Debug, Clone, Parser)]
#[command(name = "fairslot-server", version, about, long_about = None)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (the real one is printed on start).
    #[arg(long, env = "FAIRSLOT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Directory of the database file `fairslot.sqlite3`; created and seeded on first run.
    #[arg(long, env = "FAIRSLOT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Directory of the built app (index.html, wasm, js, css, config.json), served at `/` with a
    /// fallback to index.html for client-side routes.
    #[arg(long, env = "FAIRSLOT_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// How long a hold (锁号) keeps its place before capacity returns to the pool.
    #[arg(long, env = "FAIRSLOT_HOLD_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub hold_seconds: u32,

    /// Bookings can be cancelled until this many minutes before the slot starts.
    #[arg(long, env = "FAIRSLOT_CANCEL_CUTOFF_MINUTES", default_value_t = 120,
          value_parser = clap::value_parser!(u32).range(0..=10_080))]
    pub cancel_cutoff_minutes: u32,

    /// Browser origin allowed to call the API (repeatable; `*` allows any). None: no CORS headers.
    #[arg(
        long = "cors-origin",
        env = "FAIRSLOT_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Fault injection for tests, e.g. `latency=200ms,error_rate=0.3,burst=5:2,drop_after_commit=1.0`.
    #[arg(long, env = "FAIRSLOT_FAULTS")]
    pub faults: Option<FaultSpec>,

    /// Enable `PUT`/`DELETE /api/v1/_faults` so tests can switch faults on a running server
    /// (environment: `1`, `true`, `yes` or `on`).
    #[arg(long, env = "FAIRSLOT_FAULT_CONTROL", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub fault_control: bool,

    /// Add the large demo department `h1-large` (60 doctors × 40 slots a day) used by benchmarks.
    #[arg(long, env = "FAIRSLOT_DEMO_LARGE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub demo_large: bool,

    /// Do not log a line per request (startup and errors are still reported).
    #[arg(long, env = "FAIRSLOT_QUIET", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub quiet: bool,

    /// A FHIR R4 server to stand in front of, at `/fhir`: the app's FHIR requests are passed on,
    /// Patient resources never come back, and lookup and cancel by code check the proof here
    /// (point the app's config at `/fhir` with `"gateway": true`).
    #[arg(long, env = "FAIRSLOT_FHIR_UPSTREAM")]
    pub fhir_upstream: Option<String>,

    /// Bearer token the gateway sends to the FHIR server (best given in the environment, where
    /// other users' `ps` does not show it). Never sent to a browser.
    #[arg(long, env = "FAIRSLOT_FHIR_TOKEN", hide_env_values = true)]
    pub fhir_token: Option<String>,

    /// The open ledger's name (origin): who signs its checkpoints, as monitors and the app will
    /// know it. Usually the deployment's host and a path; no spaces or `+`. The signing key is
    /// `ledger.key` in the data directory, made on first start.
    #[arg(
        long,
        env = "FAIRSLOT_LEDGER_ORIGIN",
        default_value = "fairslot.localhost/ledger"
    )]
    pub ledger_origin: String,

    /// Real-name booking rules (实名制), holds and proofs.
    #[command(flatten)]
    pub rules: Rules,

    /// Connections, timeouts, rate limits and the page's security headers.
    #[command(flatten)]
    pub guard: Guard,

    /// Print the security headers of the app's files and exit (see `fairslot-server headers --help`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One-off commands instead of serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Prints the HTTP headers the app's files must be served with (CSP from the deployment's
    /// config.json, nosniff, referrer and opener policies) as an nginx snippet, for deployments that
    /// serve the static build from elsewhere.
    Headers {
        /// The deployment's config.json.
        #[arg(long, default_value = "public/config.json")]
        config: PathBuf,
        /// The built index.html, whose inline scripts the CSP allows by hash.
        #[arg(long, default_value = "dist/index.html")]
        index: PathBuf,
    },
    /// Checks a deployment's open ledger with nothing but its published key: each checkpoint's
    /// signature, that it extends the one kept from before, that the entries add up to it, and
    /// the per-channel figures recomputed from them. Exits 1 when history was rewritten.
    Monitor(crate::monitor::MonitorArgs),
}

/// The booking rules a deployment enforces, per person (document kind and number, compared as a
/// keyed hash) and per mobile number. 0 switches a count rule off.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Booking rules (实名制)")]
pub struct Rules {
    /// Bookings per person per doctor per day.
    #[arg(long, env = "FAIRSLOT_PER_DOCTOR_DAY", default_value_t = 1)]
    pub per_doctor_day: u32,
    /// Bookings per person per department per day.
    #[arg(long, env = "FAIRSLOT_PER_DEPARTMENT_DAY", default_value_t = 1)]
    pub per_department_day: u32,
    /// Active bookings (confirmed, slot not yet started) per person.
    #[arg(long, env = "FAIRSLOT_ACTIVE_PER_PERSON", default_value_t = 3)]
    pub active_per_person: u32,
    /// Active bookings per mobile number.
    #[arg(long, env = "FAIRSLOT_ACTIVE_PER_PHONE", default_value_t = 3)]
    pub active_per_phone: u32,
    /// A cancellation less than this many minutes before the slot is late.
    #[arg(long, env = "FAIRSLOT_LATE_CANCEL_MINUTES", default_value_t = 1440)]
    pub late_cancel_minutes: u32,
    /// This many late cancellations within 30 days start a cooling-off period (0: never).
    #[arg(long, env = "FAIRSLOT_LATE_CANCELS", default_value_t = 3)]
    pub late_cancels: u32,
    /// Days a person waits after the late cancellation that started a cooling-off period.
    #[arg(long, env = "FAIRSLOT_COOLING_OFF_DAYS", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..=90))]
    pub cooling_off_days: u32,
    /// Live holds per client (one browser tab, one kiosk patient); a new hold beyond it gives the
    /// client's oldest live hold back.
    #[arg(long, env = "FAIRSLOT_HOLDS_PER_CLIENT", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub holds_per_client: u32,
    /// Holds a client may take per minute; released and converted ones do not count.
    #[arg(long, env = "FAIRSLOT_CLIENT_HOLDS_PER_MINUTE", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub client_holds_per_minute: u32,
    /// Holds one IP address may take per minute (a hospital lobby's kiosks share one); released and
    /// converted ones do not count.
    #[arg(long, env = "FAIRSLOT_IP_HOLDS_PER_MINUTE", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ip_holds_per_minute: u32,
    /// Bookings one IP address may make per hour without a live hold of their own (a hold's
    /// budgets do not bind them otherwise); 0: no limit.
    #[arg(
        long,
        env = "FAIRSLOT_IP_DIRECT_BOOKINGS_PER_HOUR",
        default_value_t = 10
    )]
    pub ip_direct_bookings_per_hour: u32,
    /// Live holds one IP address may have at once: however many clients a script invents, it
    /// keeps no more places than this.
    #[arg(long, env = "FAIRSLOT_IP_LIVE_HOLDS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ip_live_holds: u32,
    /// A client whose holds ran out unconverted this many times in an hour is slowed down: no new
    /// hold until the oldest of them is an hour old (0: never).
    #[arg(long, env = "FAIRSLOT_UNCONVERTED_HOLDS_PER_HOUR", default_value_t = 6)]
    pub unconverted_holds_per_hour: u32,
    /// Wrong proofs (last four characters of the document) a booking code takes before lookup and
    /// cancel lock for it.
    #[arg(long, env = "FAIRSLOT_PROOF_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub proof_attempts: u32,
    /// How long a booking code stays locked after the wrong proof that locks it; each further lock
    /// (after as many wrong proofs again) lasts twice as long as the one before.
    #[arg(long, env = "FAIRSLOT_PROOF_LOCK_MINUTES", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub proof_lock_minutes: u32,
}

/// Limits that keep one client from exhausting the server, and the page's headers.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Guards")]
pub struct Guard {
    /// Proxy addresses or networks (`10.0.0.0/8`) whose `X-Forwarded-For` names the client;
    /// from anyone else the header is ignored (repeatable).
    #[arg(
        long = "trusted-proxy",
        env = "FAIRSLOT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests (reads included) per IP address per minute.
    #[arg(long, env = "FAIRSLOT_IP_REQUESTS_PER_MINUTE", default_value_t = 1200,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub ip_requests_per_minute: u32,
    /// Lookups, cancellations and by-key checks per IP address per minute (guessing codes).
    #[arg(long, env = "FAIRSLOT_IP_PROOFS_PER_MINUTE", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub ip_proofs_per_minute: u32,
    /// Seconds a whole request (headers and body) may take to arrive and be answered.
    #[arg(long, env = "FAIRSLOT_REQUEST_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=600))]
    pub request_timeout_seconds: u32,
    /// Open connections in all; more wait to be accepted.
    #[arg(long, env = "FAIRSLOT_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Open connections per IP address that is not a trusted proxy; more are closed at once.
    #[arg(long, env = "FAIRSLOT_MAX_CONNECTIONS_PER_IP", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections_per_ip: u32,
    /// Extra `connect-src` sources for the page's CSP beyond the config's API origins (repeatable).
    #[arg(
        long = "csp-connect-src",
        env = "FAIRSLOT_CSP_CONNECT_SRC",
        value_delimiter = ','
    )]
    pub csp_connect_src: Vec<String>,
    /// Extra `frame-ancestors` sources beyond the config's embed origins (repeatable).
    #[arg(
        long = "csp-frame-ancestors",
        env = "FAIRSLOT_CSP_FRAME_ANCESTORS",
        value_delimiter = ','
    )]
    pub csp_frame_ancestors: Vec<String>,
}

impl Config {
    /// Defaults suitable for tests: an ephemeral port on loopback, the given data directory and no
    /// request log.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        // The documented defaults, from the command line's own definition.
        let mut config = Self::parse_from(["fairslot-server"]);
        config.listen = "127.0.0.1:0".into();
        config.data_dir = data_dir.into();
        config.quiet = true;
        config
    }

    /// The database file inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("fairslot.sqlite3")
    }
}
