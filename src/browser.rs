//! The few browser facts the rest of the app needs, behind plain functions.

use chrono::{DateTime, Utc};
use fairslot_core::config::UrlNarrowing;

/// The device clock as UTC. Only used for "today" and for countdown deltas; schedule times come
/// with their own offsets from the server.
pub fn now_utc() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// What the page URL's query may narrow in the config (language, hospital).
pub fn url_narrowing() -> UrlNarrowing {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return UrlNarrowing::default();
    };
    let names = [
        "lang",
        "hospital",
        "department",
        "channel",
        "brand",
        "radius",
        "font",
    ];
    let values: Vec<(&str, String)> = names
        .into_iter()
        .filter_map(|n| params.get(n).map(|v| (n, v)))
        .collect();
    UrlNarrowing::from_pairs(values.iter().map(|(n, v)| (*n, v.as_str())))
}

/// The browser's preferred language, for the screens shown before the config is read.
pub fn navigator_language() -> Option<String> {
    web_sys::window().and_then(|w| w.navigator().language())
}

fn document_element() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}

/// Sets `lang` on `<html>` so screen readers and fonts follow the chosen language.
pub fn set_document_lang(tag: &str) {
    if let Some(el) = document_element() {
        let _ = el.set_attribute("lang", tag);
    }
}

/// Sets an attribute on `<html>`, e.g. the mode, for the stylesheet to follow.
pub fn set_root_attribute(name: &str, value: &str) {
    if let Some(el) = document_element() {
        let _ = el.set_attribute(name, value);
    }
}

/// Sets CSS custom properties on `<html>`; values were validated with the config.
pub fn set_css_properties(props: &[(&str, String)]) {
    use wasm_bindgen::JsCast;
    let Some(el) = document_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    for (name, value) in props {
        let _ = el.style().set_property(name, value);
    }
}

/// The stored language choice; not personal data, and only a language tag.
pub fn stored_locale() -> Option<String> {
    local_storage()?.get_item(LOCALE_KEY).ok().flatten()
}

pub fn store_locale(tag: &str) {
    if is_shared_screen() {
        return;
    }
    if let Some(s) = local_storage() {
        let _ = s.set_item(LOCALE_KEY, tag);
    }
}

const LOCALE_KEY: &str = "fairslot.locale";

thread_local! {
    static SHARED_SCREEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A screen shared by strangers (a kiosk) keeps nothing for later: no language choice, no list of
/// bookings made on it.
pub fn set_shared_screen(shared: bool) {
    SHARED_SCREEN.with(|s| s.set(shared));
}

fn is_shared_screen() -> bool {
    SHARED_SCREEN.with(std::cell::Cell::get)
}

thread_local! {
    static RESETTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A kiosk's reset has begun: nothing may be stored from here on (a hold answered late must not
/// outlive the page in session storage).
pub fn set_resetting() {
    RESETTING.with(|r| r.set(true));
}

pub fn is_resetting() -> bool {
    RESETTING.with(std::cell::Cell::get)
}

/// Milliseconds from the page's start on a clock that never goes back or jumps with the device
/// clock.
pub fn monotonic_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// How many entries the tab's history has.
pub fn history_length() -> u32 {
    web_sys::window()
        .and_then(|w| w.history().ok())
        .and_then(|h| h.length().ok())
        .unwrap_or(0)
}

/// Moves through the tab's history, as the back (negative) or forward button would.
pub fn history_go(delta: i32) {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = h.go_with_delta(delta);
    }
}

/// Adds a history entry for `url` in this document. Like any new entry, it drops every entry
/// ahead of the current one: what the forward button would have reached is gone.
pub fn push_history_entry(url: &str) {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

/// Makes the element with this id (and everything in it) unreachable while a dialog is open.
pub fn set_inert(id: &str, inert: bool) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    {
        let _ = if inert {
            el.set_attribute("inert", "")
        } else {
            el.remove_attribute("inert")
        };
    }
}

/// Empties this origin's local and session storage: a kiosk's reset.
pub fn wipe_storage() {
    if let Some(s) = local_storage() {
        let _ = s.clear();
    }
    if let Some(s) = session_storage() {
        let _ = s.clear();
    }
}

/// Loads `url` in place of the current page, dropping everything the page held in memory.
pub fn replace_location(url: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().replace(url);
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Sets the document title, so tabs and history entries say where the patient is.
pub fn set_title(title: &str) {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(title);
    }
}

/// A fresh idempotency key for a booking: a random UUID from the browser's CSPRNG.
pub fn new_idempotency_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        // Integers only: formatting floats would pull float printing into the download.
        .unwrap_or_else(|| {
            let random = (js_sys::Math::random() * 1e15) as u64;
            format!("k{}-{random}", js_sys::Date::now() as u64)
        })
}

const CLIENT_KEY: &str = "fairslot.client";

/// The token this tab's requests carry in `X-Fairslot-Client`: holds are counted per client, so
/// one script cannot take every place. Random, never derived from the device or the person; kept
/// for the tab in session storage, so a reload stays the same client and its hold stays its
/// own. `memory_only` (a kiosk) keeps it in the page only: the reset's reload makes the next
/// patient a new client.
pub fn client_token(memory_only: bool) -> String {
    let storage = (!memory_only).then(session_storage).flatten();
    if let Some(kept) = storage
        .as_ref()
        .and_then(|s| s.get_item(CLIENT_KEY).ok().flatten())
        .filter(|t| fairslot_core::is_client_token(t))
    {
        return kept;
    }
    let token = hex(&random_bytes::<16>());
    if let Some(s) = storage {
        let _ = s.set_item(CLIENT_KEY, &token);
    }
    token
}

/// Bytes from the browser's CSPRNG; Math.random only where a browser has no `crypto` at all.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

/// Moves keyboard focus to an element by id, e.g. the first field to correct.
pub fn focus(id: &str) {
    use wasm_bindgen::JsCast;
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

const LEDGER_KEY: &str = "fairslot.ledger";

/// The open ledger's key and the last checkpoint this device verified, as one text: the key's
/// line, then the signed note. Nothing personal; a shared screen keeps nothing.
pub fn kept_ledger() -> Option<String> {
    local_storage().and_then(|s| s.get_item(LEDGER_KEY).ok().flatten())
}

/// Keeps the ledger's key and its newest verified checkpoint for the next check.
pub fn keep_ledger(kept: &str) {
    if is_shared_screen() {
        return;
    }
    if let Some(s) = local_storage() {
        let _ = s.set_item(LEDGER_KEY, kept);
    }
}

const HISTORY_KEY: &str = "fairslot.bookings";

/// The bookings made on this device (code, slot, status; never identity).
pub fn booking_history() -> Vec<fairslot_core::history::BookingRecord> {
    let json = local_storage().and_then(|s| s.get_item(HISTORY_KEY).ok().flatten());
    fairslot_core::history::parse(json.as_deref())
}

/// Adds or updates one booking in the device's list.
pub fn remember_booking(record: fairslot_core::history::BookingRecord) {
    if is_shared_screen() {
        return;
    }
    let mut list = booking_history();
    fairslot_core::history::upsert(&mut list, record);
    if let (Some(s), Ok(json)) = (local_storage(), serde_json::to_string(&list)) {
        let _ = s.set_item(HISTORY_KEY, &json);
    }
}

/// Asks the browser to print the page (the print stylesheet lays out the ticket).
pub fn print() {
    if let Some(w) = web_sys::window() {
        let _ = w.print();
    }
}

/// The device clock in milliseconds, for measuring how much time passed on this device.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Waits `ms` milliseconds without blocking the page.
pub async fn sleep(ms: i32) {
    if ms <= 0 {
        return;
    }
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Resolves when the browser has a moment with nothing else to do (after the first screen has
/// rendered, typically), or after `max_ms` at the latest.
pub async fn idle(max_ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let Some(w) = web_sys::window() else { return };
        let options = web_sys::IdleRequestOptions::new();
        options.set_timeout(max_ms);
        if w.request_idle_callback_with_options(&resolve, &options)
            .is_err()
        {
            // No idle callbacks (older Safari): a plain delay of the same bound.
            let _ =
                w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, max_ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Reloads the page, e.g. to try loading the config again.
pub fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// The current path, for changing only the query of the page in place.
pub fn pathname() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default()
}

const HOLD_KEY: &str = "fairslot.hold";

/// A hold as kept for this tab across a reload: ids and times only, nothing about the patient.
#[derive(serde::Serialize, serde::Deserialize)]
struct StashedHold {
    hold: fairslot_core::Hold,
    /// Whole milliseconds: an integer keeps float printing out of the download.
    device_then_ms: i64,
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps the current hold for this tab, so a reload can go on with it.
pub fn stash_hold(hold: &fairslot_core::Hold, device_then_ms: f64) {
    if is_resetting() {
        return;
    }
    let stash = StashedHold {
        hold: hold.clone(),
        device_then_ms: device_then_ms as i64,
    };
    if let (Some(s), Ok(json)) = (session_storage(), serde_json::to_string(&stash)) {
        let _ = s.set_item(HOLD_KEY, &json);
    }
}

/// The hold kept for `slot_id` in this tab, with the device time it was taken at.
pub fn stashed_hold(slot_id: &str) -> Option<(fairslot_core::Hold, f64)> {
    let json = session_storage()?.get_item(HOLD_KEY).ok()??;
    let stash: StashedHold = serde_json::from_str(&json).ok()?;
    (stash.hold.slot_id == slot_id).then_some((stash.hold, stash.device_then_ms as f64))
}

pub fn clear_stashed_hold() {
    if let Some(s) = session_storage() {
        let _ = s.remove_item(HOLD_KEY);
    }
}

/// Registers the service worker that lets the app open with no network (`public/sw.js`). It
/// caches the app shell only: never the booking API, never personal data.
pub fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    // Not every browser or frame may have one (e.g. insecure origins, some embedded views).
    let has_worker =
        js_sys::Reflect::has(&window.navigator(), &"serviceWorker".into()).unwrap_or(false);
    if has_worker {
        let registering = window.navigator().service_worker().register("/sw.js");
        // A browser may refuse, e.g. in a frame of another site with its storage partitioned:
        // the app then works online only, as it would without a worker, and says nothing.
        wasm_bindgen_futures::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(registering).await;
        });
    }
}

/// The device's own UTC offset in minutes (east positive), for a time that belongs to no
/// hospital, such as when a locked booking code may be tried again.
pub fn device_offset_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// `HH:MM` of an instant on the device's own clock, for "as of" labels of data kept on the device.
pub fn local_hhmm(at: DateTime<Utc>) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        at.timestamp_millis() as f64
    ));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// The window this page is framed in, if any.
pub fn parent_window() -> Option<web_sys::Window> {
    let window = web_sys::window()?;
    let parent = window.parent().ok().flatten()?;
    (!js_sys::Object::is(&parent, &window)).then_some(parent)
}

/// The origins of the pages framing this one, nearest first, as the browser reports them: the
/// ancestor origins where the browser lists them, else the referrer's origin.
pub fn embedder_origins() -> Vec<String> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let list = js_sys::Reflect::get(&window.location(), &"ancestorOrigins".into())
        .ok()
        .filter(|a| !a.is_undefined() && !a.is_null());
    if let Some(list) = list {
        let length = js_sys::Reflect::get(&list, &"length".into())
            .ok()
            .and_then(|l| l.as_f64())
            .unwrap_or(0.0) as u32;
        return (0..length.min(16))
            .filter_map(|i| js_sys::Reflect::get(&list, &i.into()).ok()?.as_string())
            .collect();
    }
    window
        .document()
        .and_then(|d| fairslot_core::embed::origin_of(&d.referrer()))
        .into_iter()
        .collect()
}

/// Posts a JSON message to the framing page, to that exact origin only.
pub fn post_to_parent(message: &serde_json::Value, origin: &str) {
    if let (Some(parent), Ok(data)) = (parent_window(), js_sys::JSON::parse(&message.to_string())) {
        let _ = parent.post_message(&data, origin);
    }
}

/// The height of the page's content in CSS pixels, for the framing page to size its iframe.
pub fn content_height() -> u32 {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
        .map_or(0, |b| b.offset_height().max(0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fairslot_core::is_client_token;

    #[test]
    fn client_tokens_are_what_the_server_takes() {
        let token = hex(&[
            0x00, 0x9f, 0xa5, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ]);
        assert_eq!(token, "009fa5ff0102030405060708090a0b0c");
        assert!(is_client_token(&token));
        for bad in [
            "",
            "short",
            "a b c d e f g h i j",
            &"x".repeat(65),
            "ééééééééééééééééé",
        ] {
            assert!(!is_client_token(bad), "{bad}");
        }
        assert!(is_client_token(&"x".repeat(64)) && is_client_token("abc-DEF_0123456789"));
    }
}

/// The browser could not fetch a part of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartMissing;

impl From<leptos::wasm_split::SplitLoaderError> for PartMissing {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        PartMissing
    }
}
