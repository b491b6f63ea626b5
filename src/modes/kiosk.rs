//! Kiosk mode: a touch screen in a hospital lobby, used by one stranger after another.
//!
//! After `mode.idle_seconds` without a touch the screen starts over, with a warning for the last
//! 20 seconds that anyone can dismiss. Starting over leaves the booking page (which gives a held
//! slot back), lets a booking still on its way finish, empties the origin's storage and loads the
//! app afresh, so nothing the last person typed or saw survives in memory, storage or the page.
//! Links out of the app do nothing here.

use fairslot_core::kiosk::{Idle, MAX_FINISH_SECONDS, idle_state};
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

/// Watches for an idle screen, warns, and starts over. Rendered once, inside the router.
#[component]
pub fn KioskGuard(idle_seconds: u32) -> impl IntoView {
    let i18n = use_i18n();
    let navigate = use_navigate();
    let outbox = use_outbox();
    let last_touch = StoredValue::new(browser::now_ms());
    let idle = RwSignal::new(Idle::Active);
    let finishing = RwSignal::new(false);
    let resetting = StoredValue::new(false);

    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        let touched = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if !resetting.get_value() {
                last_touch.set_value(browser::now_ms());
                if idle.get_untracked() != Idle::Active {
                    idle.set(Idle::Active);
                }
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
        // The kiosk page lives as long as the document: so do its listeners.
        touched.forget();
        contained.forget();
    }

    let start_over = move || {
        resetting.set_value(true);
        // Leaving the booking page gives its held slot back.
        navigate(
            "/",
            NavigateOptions {
                replace: true,
                ..Default::default()
            },
        );
        spawn_local(async move {
            let began = browser::now_ms();
            let pending = move || {
                outbox
                    .intents
                    .with_untracked(|list| list.iter().any(|i| !i.is_settled()))
            };
            while pending() && browser::now_ms() - began < f64::from(MAX_FINISH_SECONDS) * 1000.0 {
                finishing.set(true);
                browser::sleep(1000).await;
            }
            // Time for the hold's release to leave before the page goes.
            browser::sleep(800).await;
            browser::wipe_storage();
            browser::replace_location("/");
        });
    };

    if let Ok(handle) = set_interval_with_handle(
        move || {
            if resetting.get_value() {
                return;
            }
            let next = idle_state(idle_seconds, browser::now_ms() - last_touch.get_value());
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

    // The warning takes the focus, so its button is one tap or one key away.
    Effect::new(move |was_warning: Option<bool>| {
        let warning = matches!(idle.get(), Idle::Warning { .. });
        if warning && was_warning != Some(true) {
            request_animation_frame(|| browser::focus("still-here"));
        }
        warning
    });

    let still_here = move |_| {
        last_touch.set_value(browser::now_ms());
        idle.set(Idle::Active);
        browser::focus("main");
    };

    view! {
        {move || match idle.get() {
            Idle::Warning { seconds_left } => view! {
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
                            {move || i18n.fmt(Msg::IdleCountdown, seconds_left)}
                        </p>
                        <button id="still-here" class="button button-wide" type="button" on:click=still_here>
                            {i18n.t(Msg::StillHere)}
                        </button>
                    </div>
                </div>
            }
            .into_any(),
            _ => ().into_any(),
        }}
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

/// Same-origin paths and in-page anchors; everything with a scheme or a host is outside.
fn is_internal(href: &str) -> bool {
    (href.starts_with('/') && !href.starts_with("//")) || href.starts_with('#')
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
        ] {
            assert!(!is_internal(outside), "{outside}");
        }
    }
}
