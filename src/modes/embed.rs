//! Embed mode: the app inside a partner's page, in an iframe made by `public/embed.js` (or by hand).
//!
//! The app talks to its parent only: messages go to the exact parent origin the config allows,
//! never `*`, and a message in is read only when it comes from that origin and from the parent
//! window itself. The protocol is [`fairslot_core::embed`]'s. Nothing personal is ever sent: a
//! confirmed booking is its code and its time.

use fairslot_core::embed::{FromHost, ToHost};
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::browser;

/// The way to the host, present in the context when the app is embedded by an allowed page.
#[derive(Clone, Copy)]
struct HostLink(Callback<ToHost>);

/// Opens the way to the embedding page, for the whole app. Bookings are told by the page that
/// made them (see [`tell_host`]): only this frame's own, never one another tab or embed of the
/// same site sent.
pub fn provide_host_link(parent_origin: String) {
    let send = move |m: ToHost| browser::post_to_parent(&m.to_json(), &parent_origin);
    provide_context(HostLink(Callback::new(send)));
}

/// Tells the embedding page about something this page did; nothing when not embedded.
pub fn tell_host(message: ToHost) {
    if let Some(HostLink(send)) = use_context::<HostLink>() {
        send.run(message);
    }
}

/// Sends the host what happens in the app, and applies a theme the host sends.
#[component]
pub fn EmbedBridge(parent_origin: String) -> impl IntoView {
    let origin = StoredValue::new(parent_origin);
    // Taken once: the observers below call back outside any reactive owner.
    let link = use_context::<HostLink>();
    let send = move |m: ToHost| {
        if let Some(HostLink(cb)) = link {
            cb.run(m);
        }
    };

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

    send(ToHost::Ready);
    request_animation_frame(measure);
}
