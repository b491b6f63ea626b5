//! How the app behaves where it runs: a phone (the default), a lobby kiosk, a partner's page.

pub mod embed;
pub mod kiosk;

pub use embed::{EmbedBridge, provide_host_link, tell_host};
pub use kiosk::{Kiosk, KioskGuard, is_kiosk};
