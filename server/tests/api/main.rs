//! Behaviour of the booking API over real HTTP against a real SQLite file.
//!
//! One test binary with several modules, so the suite links once.

mod common;

mod attacks;

mod bad_input;
mod bookings;
mod catalogue;
mod concurrency;
mod faults;
mod holds;
mod ledger;
mod openapi;
mod privacy;
mod rules;
mod serving;
