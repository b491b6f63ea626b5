//! One file per route.

mod book;
mod bookings;
mod department;
mod hospital;
mod hospitals;
pub mod ledger;
mod not_found;
mod schedule;

pub use book::BookPage;
pub use bookings::{ConfirmationPage, MyBookingsPage};
pub use department::DepartmentPage;
pub use hospital::HospitalPage;
pub use hospitals::HospitalsPage;
pub use ledger::LedgerPage;
pub use not_found::NotFound;
pub use schedule::SchedulePage;

use fairslot_core::config::is_safe_id;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

/// A route parameter, if it is a well-formed id. A hostile id never reaches the API.
fn param(name: &'static str) -> Memo<Option<String>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get(name).filter(|id| is_safe_id(id)))
}

/// The `:hospital` route parameter, unless the deployment is pinned to another hospital.
fn hospital_param() -> Memo<Option<String>> {
    let id = param("hospital");
    let pinned = use_context::<crate::config::Preselection>().and_then(|p| p.pinned);
    Memo::new(move |_| id.get().filter(|h| pinned.as_ref().is_none_or(|p| p == h)))
}

/// A query parameter of the current page.
fn query_param(name: &'static str) -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get(name).filter(|v| !v.is_empty()))
}

/// Sets (or, with an empty value, removes) query parameters in place, without a history entry,
/// so filters and the chosen day survive reload and can be shared. Several changes go in one call:
/// navigation is asynchronous, so a second call would still see the first one's old query.
fn use_set_query() -> Callback<Vec<(&'static str, String)>> {
    let query = use_query_map();
    let navigate = use_navigate();
    Callback::new(move |changes: Vec<(&'static str, String)>| {
        let mut map = query.get_untracked();
        for (key, value) in changes {
            if value.is_empty() {
                map.remove(key);
            } else {
                map.replace(key, value);
            }
        }
        let path = crate::browser::pathname();
        navigate(
            &format!("{path}{}", map.to_query_string()),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    })
}
