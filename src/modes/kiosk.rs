//! Kiosk mode: a touch screen in a hospital lobby, used by one stranger after another.
//!
//! After `mode.idle_seconds` without a touch the screen starts over, with a warning for the last
//! 20 seconds that anyone can dismiss. Starting over leaves the booking page (which gives a held
//! slot back), lets a booking still on its way finish, empties the origin's storage and loads the
//! app afresh, so nothing the last person typed or saw survives in memory, storage or the page.
//! Links out of the app do nothing here.

use fairslot_core::kiosk::{Idle, MAX_FINISH_SECONDS, idle_state};
use fairslot_core::outbox::State;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::browser;
use crate::i18n::{Msg, use_i18n};
use crate::offline::use_outbox;

/// Present in the context when the app runs as a kiosk.
#[derive(Debug, Clone, Copy)]
pub struct Kiosk;

/// Whether the app runs as a kiosk.
pub fn is_kiosk() -> bool {
    use_context::<Kiosk>().is_some()
}

/// Events that show someone is at the screen.
const ACTIVITY: [&str; 4] = ["pointerdown", "keydown", "input", "wheel"];
/// Gestures that could open a link elsewhere (a new tab from a long press, a middle click, a
/// dragged link): none of them does anything on a kiosk.
const WAYS_OUT: [&str; 3] = ["contextmenu", "auxclick", "dragstart"];

/// Watches for an idle screen, warns, and starts over. Rendered once, inside the router.
#[component]
pub fn KioskGuard(idle_seconds: u32) -> impl IntoView {
    let i18n = use_i18n();
    let navigate = use_navigate();
    let outbox = use_outbox();
    // The monotonic clock: a device clock set forward or back neither skips the warning nor
    // keeps the last patient's screen up.
    let last_touch = StoredValue::new(browser::monotonic_ms());
    let idle = RwSignal::new(Idle::Active);
    let finishing = RwSignal::new(false);
    let resetting = StoredValue::new(false);
    // Where this patient's history begins: the reset goes back there before it reloads.
    let history_start = browser::history_length();

    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        // During the warning only its button counts: a tap that closed the dialog on its way
        // down would land its click on whatever lies beneath.
        let touched = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if !resetting.get_value() && idle.get_untracked() == Idle::Active {
                last_touch.set_value(browser::monotonic_ms());
            }
        });
        for event in ACTIVITY {
            let _ = doc.add_event_listener_with_callback(event, touched.as_ref().unchecked_ref());
        }
        // Only links within the app are followed: no other site, no new window, no phone call.
        let contained = Closure::<dyn FnMut(web_sys::Event)>::new(|ev: web_sys::Event| {
            if leads_out(&ev) {
                ev.prevent_default();
            }
        });
        let _ = doc.add_event_listener_with_callback_and_bool(
            "click",
            contained.as_ref().unchecked_ref(),
            true,
        );
        let refused = Closure::<dyn FnMut(web_sys::Event)>::new(|ev: web_sys::Event| {
            ev.prevent_default();
        });
        for event in WAYS_OUT {
            let _ = doc.add_event_listener_with_callback_and_bool(
                event,
                refused.as_ref().unchecked_ref(),
                true,
            );
        }
        // The kiosk page lives as long as the document: so do its listeners.
        touched.forget();
        contained.forget();
        refused.forget();
    }
    // A page brought back whole from the browser's back/forward cache still holds whoever used
    // it: it starts over at once.
    if let Some(w) = web_sys::window() {
        let restored = Closure::<dyn FnMut(web_sys::Event)>::new(|ev: web_sys::Event| {
            let persisted = js_sys::Reflect::get(&ev, &"persisted".into())
                .ok()
                .and_then(|p| p.as_bool())
                .unwrap_or(false);
            if persisted {
                browser::wipe_storage();
                browser::replace_location("/");
            }
        });
        let _ = w.add_event_listener_with_callback("pageshow", restored.as_ref().unchecked_ref());
        restored.forget();
    }

    let start_over = move || {
        resetting.set_value(true);
        browser::set_resetting();
        let navigate = navigate.clone();
        spawn_local(async move {
            // Storage first: whatever happens to this page next, nothing stays in it.
            browser::wipe_storage();
            // Back to where this patient began: the pages they saw leave the back button, and
            // leaving the booking page gives its held slot back.
            let pushed = browser::history_length().saturating_sub(history_start);
            if pushed > 0 {
                browser::history_go(-(pushed as i32));
                browser::sleep(300).await;
            }
            navigate(
                "/",
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
            // A booking still being sent is let finish; one waiting for the patient's answer
            // has nobody left to answer it, and is dropped with the page.
            let began = browser::monotonic_ms();
            let sending = move || {
                outbox.intents.with_untracked(|list| {
                    list.iter()
                        .any(|i| matches!(i.state(), State::Queued { .. } | State::Sending { .. }))
                })
            };
            while sending()
                && browser::monotonic_ms() - began < f64::from(MAX_FINISH_SECONDS) * 1000.0
            {
                finishing.set(true);
                browser::sleep(1000).await;
            }
            // Time for the hold's release to leave before the page goes.
            browser::sleep(1500).await;
            browser::wipe_storage();
            // Going back left their pages ahead, for the forward button to bring back (and the
            // booking page to hold its slot again). A new entry drops every entry ahead of it;
            // replacing one, as the reload does, would not. The reload then takes its place.
            browser::push_history_entry("/");
            browser::replace_location("/");
        });
    };

    if let Ok(handle) = set_interval_with_handle(
        move || {
            if resetting.get_value() {
                return;
            }
            let next = idle_state(
                idle_seconds,
                browser::monotonic_ms() - last_touch.get_value(),
            );
            if next != idle.get_untracked() {
                idle.set(next);
            }
            if next == Idle::Expired {
                start_over();
            }
        },
        Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }

    // The dialog is built once per warning; only its countdown text changes each second, so
    // focus stays on its button.
    let warning = Memo::new(move |_| matches!(idle.get(), Idle::Warning { .. }));
    let seconds_left = Memo::new(move |_| match idle.get() {
        Idle::Warning { seconds_left } => seconds_left,
        _ => 0,
    });
    Effect::new(move |was: Option<bool>| {
        let now = warning.get();
        if now && was != Some(true) {
            browser::set_inert("topbar", true);
            browser::set_inert("main", true);
            request_animation_frame(|| browser::focus("still-here"));
        } else if !now && was == Some(true) {
            browser::set_inert("topbar", false);
            browser::set_inert("main", false);
            browser::focus("main");
        }
        now
    });

    let still_here = move |_| {
        last_touch.set_value(browser::monotonic_ms());
        idle.set(Idle::Active);
    };

    view! {
        {move || warning.get().then(|| view! {
            <div class="kiosk-overlay">
                <div
                    class="kiosk-dialog"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby="idle-title"
                    aria-describedby="idle-text"
                >
                    <h2 id="idle-title">{i18n.t(Msg::IdleTitle)}</h2>
                    <p id="idle-text" class="idle-countdown">
                        {move || i18n.fmt(Msg::IdleCountdown, seconds_left.get())}
                    </p>
                    <button id="still-here" class="button button-wide" type="button" on:click=still_here>
                        {i18n.t(Msg::StillHere)}
                    </button>
                </div>
            </div>
        })}
        {move || finishing.get().then(|| view! {
            <div class="kiosk-overlay">
                <p class="kiosk-dialog" role="status">{i18n.t(Msg::KioskFinishing)}</p>
            </div>
        })}
    }
}

/// Whether a click would take the kiosk out of the app: a link to another origin or scheme, or
/// one that opens a new window.
fn leads_out(ev: &web_sys::Event) -> bool {
    let Some(anchor) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("a[href]").ok().flatten())
    else {
        return false;
    };
    let target = anchor.get_attribute("target").unwrap_or_default();
    let href = anchor.get_attribute("href").unwrap_or_default();
    !target.is_empty() && target != "_self" || !is_internal(&href)
}

/// Same-origin paths and in-page anchors; everything with a scheme or a host is outside (browsers
/// read `/\\host` as `//host`).
fn is_internal(href: &str) -> bool {
    (href.starts_with('/') && !href.starts_with("//") && !href.starts_with("/\\"))
        || href.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_the_app_count_as_inside() {
        for inside in ["/", "/hospitals/h1", "#main", "/bookings?x=1"] {
            assert!(is_internal(inside), "{inside}");
        }
        for outside in [
            "https://example.org/",
            "//example.org/x",
            "tel:+861234",
            "mailto:a@b.c",
            "javascript:alert(1)",
            "data:text/calendar,x",
            "hospitals",
            "/\\evil.example",
        ] {
            assert!(!is_internal(outside), "{outside}");
        }
    }
}
