//! Fairslot's pure core: the booking domain, the native API contract, identity validation,
//! hospital-local time, runtime config validation, schedule grouping, the retry policy, the
//! offline outbox's state machine, the booking page's flow and the open ledger's proofs.
//!
//! Nothing here touches a browser, a socket, a clock or a database, so every rule is tested on the
//! host with `cargo test` and shared by the app (compiled to WebAssembly) and the reference server.

pub mod booking_flow;
pub mod config;
pub mod contract;
pub mod embed;
pub mod fhir;
pub mod history;
pub mod ics;
pub mod identity;
pub mod kiosk;
pub mod ledger;
pub mod outbox;
pub mod retry;
pub mod schedule;
pub mod search;
pub mod sender;
#[cfg(test)]
mod simulation;
pub mod theme;
pub mod time;

pub use contract::*;
