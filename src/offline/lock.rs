//! One sender per device: the Web Locks API grants the outbox lock to one tab at a time, so two
//! open tabs never send the same booking at once. The tab holds it until it closes; the next tab
//! in line then takes over.
//!
//! Bound by hand: web-sys has these types only behind its unstable-API flag.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    type LockManager;

    #[wasm_bindgen(method, catch, js_name = request)]
    fn request(
        this: &LockManager,
        name: &str,
        callback: &js_sys::Function,
    ) -> Result<js_sys::Promise, JsValue>;
}

const LOCK_NAME: &str = "fairslot-outbox";

/// Calls `granted` once this tab holds the outbox lock, and keeps holding it for the life of the
/// page. Without Web Locks (old browsers, some embedded views) the tab acts as if it held it.
pub fn when_sender(granted: impl FnOnce() + 'static) {
    let Some(manager) = lock_manager() else {
        granted();
        return;
    };
    let callback = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
        granted();
        // Never settles: the lock is released when the page goes away.
        js_sys::Promise::new(&mut |_, _| {})
    });
    let callback: js_sys::Function = callback.unchecked_into();
    if manager.request(LOCK_NAME, &callback).is_err() {
        // The API exists but refused (e.g. an opaque origin): a single sender is still the
        // usual case, so go on rather than never send.
        let _ = callback.call1(&JsValue::NULL, &JsValue::NULL);
    }
}

fn lock_manager() -> Option<LockManager> {
    let navigator = web_sys::window()?.navigator();
    let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    Some(locks.unchecked_into())
}
