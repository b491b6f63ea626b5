//! Fairslot's reference booking API: the embedded default backend of the app and what its
//! end-to-end tests run against.
//!
//! `/api/v1` serves hospitals, department trees, doctors, schedules, holds, idempotent bookings,
//! lookup and cancel, per-channel statistics, the open ledger ([`ledger`]) and health, as
//! documented in `openapi.json`. Data
//! lives in SQLite; every change of capacity is one transaction, so no slot is ever overbooked.
//!
//! With `--fhir-upstream` it is also a gateway in front of a FHIR server at `/fhir` (see
//! [`gateway`]), so FHIR deployments check proofs where the browser cannot see the patient.
//!
//! Start it in-process with [`server::start`] (tests do, with a [`clock::ManualClock`]) or from
//! the command line through [`server::run`].

pub mod api;
pub mod clock;
pub mod config;
pub mod extract;
pub mod faults;
pub mod gateway;
pub mod guard;
pub mod headers;
pub mod ledger;
pub mod monitor;
pub mod problem;
pub mod random;
pub mod rules;
pub mod seed;
pub mod server;
pub mod static_files;
pub mod store;

pub use api::AppState;
pub use config::Config;
pub use server::{AppOptions, RunningServer, StartError, app, run, start};
