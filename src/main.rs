//! Fairslot: hospital appointment booking, compiled to WebAssembly.

mod api;
mod app;
mod booking;
mod browser;
mod components;
mod config;
mod i18n;
mod modes;
mod offline;
mod pages;
mod parts;
mod routes;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
    browser::register_service_worker();
}
