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
}

impl Config {
    /// Defaults suitable for tests: an ephemeral port on loopback, the given data directory and no
    /// request log.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.into(),
            static_dir: None,
            hold_seconds: 300,
            cancel_cutoff_minutes: 120,
            cors_origins: Vec::new(),
            faults: None,
            fault_control: false,
            demo_large: false,
            quiet: true,
        }
    }

    /// The database file inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("fairslot.sqlite3")
    }
}
