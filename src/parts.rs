//! The parts of the app the browser fetches only when they are first needed.
//!
//! Each `wasm_split` function is a split point: scripts/wasm-ld cuts the code reachable only from
//! it into a wasm file of its own, and calling it fetches that file first. The first screen (the
//! hospital list) and what every page shares stay in the main module, with the kiosk mode (a
//! kiosk's reset must work even if the network is down when it starts). The pages below are
//! parts, and so are the embed bridge (fetched at start in embed mode only), the outbox runtime
//! (`crate::offline`) with its banner (`crate::components`, in the same part) and the adapters'
//! calls after the hospital list (`crate::api::deferred`). A page whose part cannot be fetched
//! (the network dropped before the service worker kept a copy) is explained with a retry, never a
//! blank page.

use leptos::prelude::*;
use std::future::Future;
use std::pin::Pin;

use crate::browser::PartMissing;
use crate::components::{Placeholder, RetryNotice};
use crate::i18n::Msg;

type PageFuture = Pin<Box<dyn Future<Output = Result<AnyView, PartMissing>>>>;

/// A route view whose page lives in a part: the page's own placeholder layout while the part
/// loads, an explanation with a retry if it cannot.
macro_rules! page_part {
    ($(#[$doc:meta])* $name:ident, $load:ident, $part:ident, $page:path) => {
        #[leptos::wasm_split::wasm_split($part, wasm_split_path = ::leptos::wasm_split, fallible)]
        fn $load() -> Result<AnyView, PartMissing> {
            Ok(view! { <$page /> }.into_any())
        }

        $(#[$doc])*
        #[component]
        pub fn $name() -> impl IntoView {
            part_view(|| Box::pin($load()))
        }
    };
}

page_part!(
    HospitalPart,
    load_hospital,
    hospital,
    crate::pages::HospitalPage
);
page_part!(
    DepartmentPart,
    load_department,
    department,
    crate::pages::DepartmentPage
);
page_part!(
    SchedulePart,
    load_schedule,
    schedule,
    crate::pages::SchedulePage
);
page_part!(BookPart, load_book, book, crate::pages::BookPage);
page_part!(
    MyBookingsPart,
    load_my_bookings,
    my_bookings,
    crate::pages::MyBookingsPage
);
page_part!(LedgerPart, load_ledger, ledger, crate::pages::LedgerPage);
page_part!(
    ConfirmationPart,
    load_confirmation,
    confirmation,
    crate::pages::ConfirmationPage
);

/// The bridge to an embedding page: only embedded apps need it.
#[leptos::wasm_split::wasm_split(embed, wasm_split_path = ::leptos::wasm_split, fallible)]
fn load_embed_bridge(parent_origin: String) -> Result<AnyView, PartMissing> {
    Ok(view! { <crate::modes::EmbedBridge parent_origin=parent_origin /> }.into_any())
}

/// [`crate::modes::EmbedBridge`], fetched at start. The patient has nothing to do about a bridge
/// that cannot be fetched (the host page keeps its default height meanwhile), so it is tried
/// again quietly until it arrives.
#[component]
pub fn EmbedBridgePart(parent_origin: String) -> impl IntoView {
    let origin = StoredValue::new(parent_origin);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(send_wrapper::SendWrapper::new(async move {
                loop {
                    if let Ok(bridge) = load_embed_bridge(origin.get_value()).await {
                        return bridge;
                    }
                    crate::browser::sleep(EMBED_RETRY_MS).await;
                }
            }))}
        </Suspense>
    }
}

/// How long to wait before fetching the embed bridge's part again.
const EMBED_RETRY_MS: i32 = 5_000;

/// Shows the page `load` brings, the page's placeholder layout while it loads, and a retry if it
/// cannot.
fn part_view(load: fn() -> PageFuture) -> impl IntoView {
    let attempt = RwSignal::new(0u32);
    view! {
        <Suspense fallback=|| view! { <Placeholder rows=4 /> }>
            {move || {
                attempt.track();
                Suspend::new(send_wrapper::SendWrapper::new(async move {
                    match load().await {
                        Ok(page) => page,
                        Err(PartMissing) => {
                            view! {
                                <RetryNotice
                                    message=Msg::ErrPart
                                    on_retry=move || attempt.update(|n| *n += 1)
                                />
                            }
                                .into_any()
                        }
                    }
                }))
            }}
        </Suspense>
    }
}
