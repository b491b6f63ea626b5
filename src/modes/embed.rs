//! Embed mode: the app inside a partner's page, in an iframe made by `public/embed.js` (or by hand).
//!
//! The app talks to its parent only: messages go to the exact parent origin the config allows,
//! never `*`, and a message in is read only when it comes from that origin and from the parent
//! window itself. The protocol is [`fairslot_core::embed`]'s. Nothing personal is ever sent: a
//! confirmed booking is its code and its time.

use fairslot_core::embed::{FromHost, ToHost};
use fairslot_core::outbox::State;
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use std::collections::HashSet;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::booking::use_draft;
use crate::browser;
use crate::offline::use_outbox;

/// Sends the host what happens in the app, and applies a theme the host sends.
#[component]
pub fn EmbedBridge(parent_origin: String) -> impl IntoView {
    let origin = StoredValue::new(parent_origin);
    let send = move |m: ToHost| origin.with_value(|o| browser::post_to_parent(&m.to_json(), o));

    // Height: whenever the page's content changes size.
    let last_height = StoredValue::new(0u32);
    let measure = move || {
        let height = browser::content_height();
        if height != last_height.get_value() {
            last_height.set_value(height);
            send(ToHost::Resized { height });
        }
    };
    let on_resize = Closure::<dyn FnMut(js_sys::Array)>::new(move |_| measure());
    if let (Ok(observer), Some(body)) = (
        web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()),
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body()),
    ) {
        observer.observe(&body);
        // Lives as long as the page.
        std::mem::forget(observer);
    }
    on_resize.forget();

    // Messages in: from the allowed parent window only.
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let from_parent = browser::parent_window().is_some_and(|p| {
                ev.source()
                    .is_some_and(|s| js_sys::Object::is(&s, p.as_ref()))
            });
            if !from_parent || !origin.with_value(|o| ev.origin() == *o) {
                return;
            }
            let data = js_sys::JSON::stringify(&ev.data())
                .ok()
                .and_then(|s| s.as_string())
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
            if let Some(FromHost::Theme(theme)) = data.as_ref().and_then(FromHost::parse) {
                browser::set_css_properties(&theme.css_properties());
            }
        });
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    }
    on_message.forget();

    // Route changes: the path only; queries are the app's business.
    let location = use_location();
    Effect::new(move |_| {
        let path = location.pathname.get();
        send(ToHost::Route { path });
        request_animation_frame(measure);
    });

    // Bookings: confirmed with code and time; failed with the reason's slug.
    let draft = use_draft();
    let announced = StoredValue::new(HashSet::<String>::new());
    Effect::new(move |_| {
        if let Some(b) = draft.last_booking.get() {
            let fresh = announced.try_update_value(|seen| seen.insert(b.code.clone()));
            if fresh == Some(true) {
                send(ToHost::BookingConfirmed {
                    code: b.code,
                    start: b.slot.start.to_rfc3339(),
                });
            }
        }
    });
    let outbox = use_outbox();
    Effect::new(move |_| {
        outbox.intents.with(|list| {
            for intent in list {
                if let State::Rejected { problem } = intent.state() {
                    let key = format!("rejected:{}", intent.key().as_str());
                    let fresh = announced.try_update_value(|seen| seen.insert(key));
                    if fresh == Some(true) {
                        let reason = problem.kind().map_or("refused", |k| k.slug()).to_string();
                        send(ToHost::BookingFailed { reason });
                    }
                }
            }
        });
    });

    send(ToHost::Ready);
    request_animation_frame(measure);
}
