//! One sender per device: the Web Locks API grants the outbox lock to one tab at a time, so two
//! open tabs never send the same booking at once. The tab holds it until it closes; the next tab
//! in line then takes over.
//!
//! Bound by hand: web-sys has these types only behind its unstable-API flag.

use std::cell::RefCell;
use std::rc::Rc;

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

type Once = Rc<RefCell<Option<Box<dyn FnOnce()>>>>;

/// Calls `granted` once this tab holds the outbox lock, and keeps holding it for the life of the
/// page. Without Web Locks (old browsers, some embedded views), or when the browser refuses the
/// request (an opaque origin rejects it), the tab acts as if it held it: a single sender is
/// still the usual case, and never sending would be worse.
pub fn when_sender(granted: impl FnOnce() + 'static) {
    let Some(manager) = lock_manager() else {
        granted();
        return;
    };
    // Granted or refused, whichever comes first starts the sender, once.
    let granted: Once = Rc::new(RefCell::new(Some(Box::new(granted))));
    let run = {
        let granted = Rc::clone(&granted);
        move || {
            if let Some(f) = granted.borrow_mut().take() {
                f();
            }
        }
    };
    let on_grant = {
        let run = run.clone();
        Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
            run();
            // Never settles: the lock is released when the page goes away.
            js_sys::Promise::new(&mut |_, _| {})
        })
    };
    match manager.request(LOCK_NAME, on_grant.unchecked_ref()) {
        Ok(promise) => {
            let on_refusal = Closure::once(move |_err: JsValue| run());
            let _ = promise.catch(&on_refusal);
            // Lives as long as the page, like the lock.
            on_refusal.forget();
        }
        Err(_) => run(),
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
